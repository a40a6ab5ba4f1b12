import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FsyncProcess, receivedBytes, startSharer } from "../support/peer.ts";
import { diffTrees, findTempFiles, snapshotTree } from "../support/tree.ts";
import { type Usage, usageWhile } from "../support/usage.ts";

const MiB = 1024 * 1024;
/** The memory bound for either peer, whatever the folder's size. */
const MAX_RSS_BYTES = 300 * MiB;

function assertBoundedMemory(usage: Usage[], what: string): void {
  for (const [i, side] of ["sharer", "joiner"].entries()) {
    const mib = (usage[i].peakRssBytes / MiB).toFixed(0);
    assert.ok(usage[i].peakRssBytes > 0, `${what}: no RSS sample of the ${side}`);
    assert.ok(usage[i].peakRssBytes < MAX_RSS_BYTES, `${what}: the ${side}'s peak RSS was ${mib} MiB`);
  }
}

/** Runs `fsync join --once` of `invite` into `dst`, sampling both processes' memory meanwhile. */
async function joinOnce(
  sharer: FsyncProcess,
  invite: string,
  home: string,
  dst: string,
  timeoutMs: number,
): Promise<{ joiner: FsyncProcess; usage: Usage[] }> {
  const joiner = FsyncProcess.start(["--home", home, "join", invite, dst, "--yes", "--once"]);
  const code = joiner.exit(timeoutMs);
  const usage = await usageWhile([sharer.pid, joiner.pid], code);
  assert.equal(await code, 0, joiner.log());
  return { joiner, usage };
}

Deno.test({
  name: "slow: a folder of 100,000 files syncs completely, with each peer under 300 MiB of memory",
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-100k-" });
    try {
      const src = join(tmp, "src");
      for (let d = 0; d < 100; d++) {
        const dir = join(src, `dir-${d}`, `sub-${d % 7}`);
        Deno.mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 1000; f++) {
          Deno.writeTextFileSync(join(dir, `file-${f}.txt`), `${d}/${f}\n`.repeat(f % 40));
        }
      }
      const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
      await using _ = sharer;
      const dst = join(tmp, "dst");
      const { usage } = await joinOnce(sharer, invite, join(tmp, "home-b"), dst, 600_000);
      const [a, b] = [await snapshotTree(src), await snapshotTree(dst)];
      assert.equal(a.size, 100_000 + 200);
      assert.deepEqual(diffTrees(a, b), []);
      assert.deepEqual(await findTempFiles(dst), []);
      assertBoundedMemory(usage, "100,000 files");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "slow: a 4 GiB file syncs exactly; a 1 MiB change in its middle then moves about 1 MiB; memory stays bounded",
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-4g-" });
    try {
      const src = join(tmp, "src");
      await Deno.mkdir(src);
      const big = join(src, "big.bin");
      const size = 4 * 1024 * MiB + 12345; // a last, partial block
      // Every 1 MiB block differs (its index is stamped into it): block reuse cannot shortcut the transfer.
      const block = new Uint8Array(MiB).map((_, i) => (i * 2654435761) >>> 24);
      {
        using file = Deno.openSync(big, { write: true, create: true });
        for (let offset = 0, n = 0; offset < size; offset += MiB, n++) {
          new DataView(block.buffer).setUint32(0, n);
          let chunk = block.subarray(0, Math.min(MiB, size - offset));
          while (chunk.length > 0) chunk = chunk.subarray(file.writeSync(chunk));
        }
      }
      const dst = join(tmp, "dst");
      const home = join(tmp, "home-b");
      {
        const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
        await using _ = sharer;
        const { usage } = await joinOnce(sharer, invite, home, dst, 600_000);
        assert.equal(await sha256Of(join(dst, "big.bin")), await sha256Of(big));
        assert.equal((await Deno.stat(join(dst, "big.bin"))).size, size);
        assertBoundedMemory(usage, "4 GiB file");
      }
      // 1 MiB rewritten in the middle (straddling two 1 MiB blocks) while the sharer is stopped;
      // its restart finds the change, and a join with the same home fetches only what changed.
      {
        using file = await Deno.open(big, { write: true });
        await file.seek(2 * 1024 * MiB + MiB / 2, Deno.SeekMode.Start);
        await file.write(new Uint8Array(MiB).fill(0x5a));
      }
      const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
      await using _ = sharer;
      await sharer.waitFor(/scanned: 1 changes/);
      const { joiner } = await joinOnce(sharer, invite, home, dst, 600_000);
      assert.equal(await sha256Of(join(dst, "big.bin")), await sha256Of(big));
      const received = receivedBytes(joiner);
      assert.ok(received <= 2.1 * MiB, `a 1 MiB change moved ${(received / MiB).toFixed(1)} MiB`);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path); // closed by its readable at the end
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}
