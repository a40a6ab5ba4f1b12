/**
 * Bytes on the wire for changes that should cost little: renaming a directory of 1,000
 * files, and rewriting 1 MiB in the middle of a 200 MiB file. Real processes on 127.0.0.1;
 * the figure is what the joiner reports as received (to 0.1 MiB).
 */
import { join } from "node:path";
import { bytesReceivedFor, startLivePair } from "../../tests/support/peer.ts";
import { fillPseudoRandom } from "../../tests/support/gen_tree.ts";

const MiB = 1 << 20;

/** Bytes received per change, and the bytes the change concerned. */
export interface TransferBytesFigures {
  readonly renameDirectory: { readonly files: number; readonly bytes: number; readonly received: number };
  readonly middleChange: { readonly fileBytes: number; readonly changed: number; readonly received: number };
}

/** Runs both scenarios on one live pair. */
export async function measureTransferBytes(): Promise<TransferBytesFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-bytes-" });
  try {
    let dirBytes = 0;
    await using pair = await startLivePair(tmp, async (a) => {
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
    });
    const { a } = pair;
    const renamed = await bytesReceivedFor(
      pair,
      "rename",
      () => Deno.rename(join(a, "dir"), join(a, "renamed-dir")),
      300_000,
    );
    const middle = await bytesReceivedFor(pair, "middle", async () => {
      using f = await Deno.open(join(a, "big.bin"), { write: true });
      await f.seek(100 * MiB, Deno.SeekMode.Start);
      const patch = new Uint8Array(MiB);
      fillPseudoRandom(patch, 6000);
      await f.write(patch);
    }, 300_000);
    return {
      renameDirectory: { files: 1000, bytes: dirBytes, received: renamed },
      middleChange: { fileBytes: 200 * MiB, changed: MiB, received: middle },
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
