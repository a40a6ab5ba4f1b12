import assert from "node:assert/strict";
import { join } from "node:path";
import { generateTree } from "../support/gen_tree.ts";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { diffTrees, findTempFiles, snapshotTree } from "../support/tree.ts";

Deno.test("share + join --once gives a byte-identical replica of 2,000+ files and a 64 MiB file", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-initial-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const summary = await generateTree(src, {
      smallFiles: 2000,
      maxSmallBytes: 16 * 1024,
      largeFiles: [64 * 1024 * 1024],
      seed: 11,
    });
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
    await using _ = sharer;
    const joined = await FsyncProcess.run(
      ["--home", join(tmp, "home-b"), "join", invite, join(tmp, "dst"), "--yes", "--once"],
      240_000,
    );
    assert.equal(joined.code, 0, joined.stdout + joined.stderr);
    assert.match(joined.stdout, /In sync: .* received/);
    // No runtime warning reaches the user (a pull waits on a full stream from many tasks at once).
    assert.doesNotMatch(joined.stderr, /Warning/);
    assert.doesNotMatch(sharer.stderr, /Warning/);
    const [a, b] = [await snapshotTree(src), await snapshotTree(join(tmp, "dst"))];
    assert.ok(a.size >= summary.files + 5, `expected every entry in the snapshot, got ${a.size}`);
    assert.deepEqual(diffTrees(a, b), []);
    assert.deepEqual(await findTempFiles(join(tmp, "dst")), []);
    assert.equal(b.get("bin/run me.sh")?.mode, 0o755);
    assert.equal(b.get("bin/link to empty")?.target, "../empty.txt");
    assert.equal(b.get("empty dir")?.type, "directory");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
