/**
 * Bytes on the wire for changes that should cost little: renaming a directory of 1,000
 * files; rewriting 1 MiB in the middle of a 200 MiB file, appending 1 MiB to it, inserting
 * 1,000,000 bytes at its middle and deleting 1,000,000 bytes there (content-defined blocks
 * keep the rest). Also the initial sync of the tree. Real processes on 127.0.0.1; the joiner
 * dials through a proxy, and the figure is what the proxy forwarded from the sharer while the
 * change travelled: blocks, index updates, TLS and all.
 */
import { join } from "node:path";
import { type LivePair, startLivePair } from "../../tests/support/peer.ts";
import { waitConverged } from "../../tests/support/tree.ts";
import { fillPseudoRandom } from "../../tests/support/gen_tree.ts";
import { saveEdited, spliced } from "../../tests/support/edits.ts";

const MiB = 1 << 20;

/** Makes `change`, waits until the pair converged and the joiner is in sync, and returns the bytes the proxy forwarded from the sharer meanwhile. */
async function wireBytesFor(pair: LivePair, what: string, change: () => Promise<void>): Promise<number> {
  const before = pair.proxy!.forwarded.fromTarget;
  const printed = pair.joiner.printed;
  await change();
  await waitConverged(pair.a, pair.b, what);
  await pair.joiner.waitFor(/In sync:/, 300_000, printed);
  return pair.proxy!.forwarded.fromTarget - before;
}

/** A change to the large file: how many bytes it concerned, and how many the joiner received for it. */
export interface FileChangeFigures {
  readonly changed: number;
  readonly received: number;
}

/** Bytes received per change, and the bytes the change concerned. */
export interface TransferBytesFigures {
  readonly initialSync: { readonly bytes: number; readonly received: number };
  readonly renameDirectory: { readonly files: number; readonly bytes: number; readonly received: number };
  readonly fileBytes: number;
  readonly middleChange: FileChangeFigures;
  readonly append: FileChangeFigures;
  readonly insertion: FileChangeFigures;
  readonly deletion: FileChangeFigures;
}

/** Runs every change in turn on one live pair whose joiner dials through a counting proxy. */
export async function measureTransferBytes(): Promise<TransferBytesFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-bytes-" });
  try {
    let dirBytes = 0;
    await using pair = await startLivePair(
      tmp,
      async (a) => {
        await Deno.mkdir(join(a, "dir"));
        for (let i = 0; i < 1000; i++) {
          const data = new Uint8Array(4096 + (i % 16) * 1024);
          fillPseudoRandom(data, i);
          dirBytes += data.length;
          await Deno.writeFile(join(a, "dir", `file-${i}.bin`), data);
        }
        const big = new Uint8Array(200 * MiB);
        fillPseudoRandom(big, 5000);
        await Deno.writeFile(join(a, "big.bin"), big);
      },
      [],
      {},
      { throughProxy: true },
    );
    const { a } = pair;
    const initial = pair.proxy!.forwarded.fromTarget;
    const renamed = await wireBytesFor(pair, "rename", () => Deno.rename(join(a, "dir"), join(a, "renamed-dir")));
    const middle = await wireBytesFor(pair, "middle", async () => {
      using f = await Deno.open(join(a, "big.bin"), { write: true });
      await f.seek(100 * MiB, Deno.SeekMode.Start);
      const patch = new Uint8Array(MiB);
      fillPseudoRandom(patch, 6000);
      await f.write(patch);
    });
    const appended = await wireBytesFor(pair, "append", async () => {
      using f = await Deno.open(join(a, "big.bin"), { append: true });
      const tail = new Uint8Array(MiB);
      fillPseudoRandom(tail, 7000);
      await f.write(tail);
    });
    const staging = join(tmp, "staging.bin");
    const inserted = new Uint8Array(1_000_000);
    fillPseudoRandom(inserted, 8000);
    const insertion = await wireBytesFor(pair, "insertion", async () => {
      await saveEdited(staging, join(a, "big.bin"), (old) => spliced(old, old.length >> 1, inserted));
    });
    const deletion = await wireBytesFor(pair, "deletion", async () => {
      await saveEdited(
        staging,
        join(a, "big.bin"),
        (old) => spliced(old, old.length >> 1, new Uint8Array(), 1_000_000),
      );
    });
    return {
      initialSync: { bytes: dirBytes + 200 * MiB, received: initial },
      renameDirectory: { files: 1000, bytes: dirBytes, received: renamed },
      fileBytes: 200 * MiB,
      middleChange: { changed: MiB, received: middle },
      append: { changed: MiB, received: appended },
      insertion: { changed: inserted.length, received: insertion },
      deletion: { changed: 1_000_000, received: deletion },
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
