import assert from "node:assert/strict";
import { join } from "node:path";
import { generateTree } from "../support/gen_tree.ts";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { diffTrees, snapshotTree } from "../support/tree.ts";

Deno.test("the sharer keeps serving while joiners come and go, then stops cleanly on SIGTERM", async () => {
  // Regression: Deno 2.9.6 crashed inside nghttp2 (SIGSEGV / assertion) when a joiner's
  // channel sent GOAWAY on exit; fsync now ends connections without GOAWAY.
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-sessions-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    await generateTree(src, { smallFiles: 2000, maxSmallBytes: 4096, largeFiles: [], seed: 3 });
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"), 0, ["--invite-uses", "3"]);
    await using _ = sharer;
    const expected = await snapshotTree(src);
    for (let i = 0; i < 3; i++) {
      // The last joiner names no folder: it gets the folder's label in its current directory.
      const cwd = join(tmp, `cwd-${i}`);
      await Deno.mkdir(cwd);
      const dst = i < 2 ? join(tmp, `dst-${i}`) : join(cwd, "src");
      const r = await FsyncProcess.run(
        ["--home", join(tmp, `home-${i}`), "join", invite, ...(i < 2 ? [dst] : []), "--yes", "--once"],
        120_000,
        { cwd },
      );
      assert.equal(r.code, 0, `join ${i}: ${r.stdout}${r.stderr}\n${sharer.log()}`);
      assert.deepEqual(diffTrees(expected, await snapshotTree(dst)), []);
    }
    await new Promise((r) => setTimeout(r, 500));
    const running = await Promise.race([sharer.status.then(() => false), Promise.resolve(true)]);
    assert.ok(running, `the sharer died:\n${sharer.log()}`);
    Deno.kill(sharer.pid, "SIGTERM");
    assert.equal((await sharer.status).code, 0, sharer.log());
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("joining into a non-empty folder: identical files are not sent, a differing one is kept as a conflict copy", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-merge-" });
  try {
    const src = join(tmp, "src");
    const dst = join(tmp, "dst");
    await Deno.mkdir(src);
    await Deno.mkdir(dst);
    const big = new Uint8Array(8 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
    const newer = new Date("2026-11-20T10:00:00Z");
    const older = new Date("2026-11-01T10:00:00Z");
    for (const root of [src, dst]) {
      await Deno.writeFile(join(root, "same.bin"), big);
      await Deno.utime(join(root, "same.bin"), newer, newer);
    }
    await Deno.writeTextFile(join(src, "notes.txt"), "the sharer's newer notes\n");
    await Deno.utime(join(src, "notes.txt"), newer, newer);
    await Deno.writeTextFile(join(dst, "notes.txt"), "the joiner's older notes\n");
    await Deno.utime(join(dst, "notes.txt"), older, older);
    await Deno.writeTextFile(join(dst, "only-here.txt"), "local only\n");
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
    await using _ = sharer;
    const r = await FsyncProcess.run(
      ["--home", join(tmp, "home-b"), "join", invite, dst, "--yes", "--once"],
      120_000,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const received = Number(r.stdout.match(/([\d.]+) (B|KiB) received/)?.[1] ?? NaN);
    assert.ok(received < 1024, `identical 8 MiB file must not be transferred: ${r.stdout}`);
    assert.equal(await Deno.readTextFile(join(dst, "notes.txt")), "the sharer's newer notes\n");
    const copies = [...Deno.readDirSync(dst)].map((e) => e.name).filter((n) =>
      /^notes\.sync-conflict-\d{8}-\d{6}-\w+\.txt$/.test(n)
    );
    assert.equal(copies.length, 1, `one conflict copy expected in ${[...Deno.readDirSync(dst)].map((e) => e.name)}`);
    assert.equal(await Deno.readTextFile(join(dst, copies[0])), "the joiner's older notes\n");
    assert.equal(await Deno.readTextFile(join(dst, "only-here.txt")), "local only\n");
    assert.deepEqual(await Deno.readFile(join(dst, "same.bin")), big);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
