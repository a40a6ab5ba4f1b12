import assert from "node:assert/strict";
import { join } from "node:path";
import { generateTree } from "../support/gen_tree.ts";
import { freePort, FsyncProcess, startSharer } from "../support/peer.ts";
import { diffTrees, findTempFiles, snapshotTree } from "../support/tree.ts";

const MiB = 1024 * 1024;

/** Waits until some temporary file under `root` holds at least `bytes`. */
async function waitForPartialTemp(root: string, bytes: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      for (const temp of await findTempFiles(root)) {
        if ((await Deno.stat(join(root, temp))).size >= bytes) return;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no temporary file of ${bytes} bytes appeared under ${root}`);
}

Deno.test("a sharer killed mid-sync and restarted: the joiner retries, resumes, and ends complete", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-resume-" });
  try {
    const src = join(tmp, "src");
    const dst = join(tmp, "dst");
    await Deno.mkdir(src);
    const summary = await generateTree(src, { smallFiles: 300, maxSmallBytes: 8192, largeFiles: [320 * MiB], seed: 5 });
    const port = freePort();
    const first = await startSharer(src, join(tmp, "home-a"), port);
    await using joiner = FsyncProcess.start([
      "--home",
      join(tmp, "home-b"),
      "join",
      first.invite,
      dst,
      "--yes",
      "--once",
    ]);
    try {
      await waitForPartialTemp(dst, 48 * MiB, 120_000);
    } finally {
      await first.sharer.stop("SIGKILL"); // a crash, not a clean stop
    }
    await joiner.waitFor(/lost connection to 127\.0\.0\.1:\d+; retrying/, 30_000);
    assert.ok((await findTempFiles(dst)).length > 0, "the partial temporary file is kept for the resume");
    await using _second = (await startSharer(src, join(tmp, "home-a"), port)).sharer;
    assert.equal(await joiner.exit(180_000), 0, joiner.log());
    assert.deepEqual(diffTrees(await snapshotTree(src), await snapshotTree(dst)), []);
    assert.deepEqual(await findTempFiles(dst), []);
    const received = Number(joiner.stdout.match(/([\d.]+) MiB received/)?.[1]) * MiB;
    assert.ok(
      received < summary.bytes * 1.1,
      `resumed without re-sending: received ${received} bytes for ${summary.bytes} bytes of content`,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a joiner killed mid-sync and run again with the same home resumes its partial file", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-resume-joiner-" });
  try {
    const src = join(tmp, "src");
    const dst = join(tmp, "dst");
    await Deno.mkdir(src);
    const summary = await generateTree(src, { smallFiles: 50, maxSmallBytes: 4096, largeFiles: [256 * MiB], seed: 8 });
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
    await using _ = sharer;
    const args = ["--home", join(tmp, "home-b"), "join", invite, dst, "--yes", "--once"];
    const first = FsyncProcess.start(args);
    try {
      await waitForPartialTemp(dst, 64 * MiB, 120_000);
    } finally {
      await first.stop("SIGKILL");
    }
    const second = await FsyncProcess.run(args, 180_000);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.doesNotMatch(second.stdout, /offers folder/, "the folder is already joined: no new offer");
    assert.deepEqual(diffTrees(await snapshotTree(src), await snapshotTree(dst)), []);
    const received = Number(second.stdout.match(/([\d.]+) MiB received/)?.[1]) * MiB;
    assert.ok(
      received < summary.bytes - 48 * MiB,
      `the second run resumed: it received ${received} of ${summary.bytes} bytes`,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
