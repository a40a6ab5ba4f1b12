import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { randomData } from "../support/tree.ts";

const SIZE = 3 << 20;

/** Shares a 3 MiB file and times a one-shot join, with the limits given to each side. */
async function timedJoin(sharerArgs: string[], joinerArgs: string[]): Promise<number> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-bandwidth-" });
  try {
    await Deno.mkdir(join(tmp, "a"));
    const data = randomData(SIZE);
    await Deno.writeFile(join(tmp, "a/big.bin"), data);
    const { sharer, invite } = await startSharer(join(tmp, "a"), join(tmp, "home-a"), 0, sharerArgs);
    await using _ = sharer;
    const started = performance.now();
    const r = await FsyncProcess.run([
      "--home",
      join(tmp, "home-b"),
      ...joinerArgs,
      "join",
      invite,
      join(tmp, "b"),
      "--yes",
      "--once",
    ]);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await Deno.readFile(join(tmp, "b/big.bin")), data);
    return seconds;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

// 3 MiB at 512 KiB/s, with a bucket that starts full (512 KiB): at least 5 s (unlimited: about 1 s).
Deno.test("--max-recv-kbps limits what a device receives", async () => {
  const seconds = await timedJoin([], ["--max-recv-kbps", "512"]);
  assert.ok(seconds >= 4.9, `3 MiB at 512 KiB/s took only ${seconds.toFixed(2)} s`);
});

Deno.test("--max-send-kbps limits what a device sends", async () => {
  const seconds = await timedJoin(["--max-send-kbps", "512"], []);
  assert.ok(seconds >= 4.9, `3 MiB at 512 KiB/s took only ${seconds.toFixed(2)} s`);
});
