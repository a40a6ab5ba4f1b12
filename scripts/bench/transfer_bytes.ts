/**
 * Bytes on the wire for changes that should cost little: renaming a directory of 1,000
 * files, and rewriting 1 MiB in the middle of a 200 MiB file. Real processes on 127.0.0.1;
 * the figure is what the joiner reports as received (to 0.1 MiB).
 */
import { join } from "node:path";
import { startLivePair } from "../../tests/support/peer.ts";
import { waitConverged } from "../../tests/support/tree.ts";
import { fillPseudoRandom } from "../gen_tree.ts";

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
    const { a, b, joiner } = pair;
    const change = async (what: string, act: () => Promise<void>) => {
      const before = received(joiner.stdout);
      const printed = joiner.stdout.length;
      await act();
      await waitConverged(a, b, what, 300_000);
      await joiner.waitFor(new RegExp(`[\\s\\S]{${printed}}[\\s\\S]*In sync:`), 60_000);
      return received(joiner.stdout) - before;
    };
    const renamed = await change("rename", () => Deno.rename(join(a, "dir"), join(a, "renamed-dir")));
    const middle = await change("middle", async () => {
      using f = await Deno.open(join(a, "big.bin"), { write: true });
      await f.seek(100 * MiB, Deno.SeekMode.Start);
      const patch = new Uint8Array(MiB);
      fillPseudoRandom(patch, 6000);
      await f.write(patch);
    });
    return {
      renameDirectory: { files: 1000, bytes: dirBytes, received: renamed },
      middleChange: { fileBytes: 200 * MiB, changed: MiB, received: middle },
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The bytes the joiner says it received so far (its latest "In sync" line). */
function received(stdout: string): number {
  const [, n, unit] = [...stdout.matchAll(/In sync: .*?([\d.]+) (B|KiB|MiB|GiB) received/g)].at(-1)!;
  return Number(n) * { B: 1, KiB: 1024, MiB, GiB: 1024 * MiB }[unit as "B"];
}
