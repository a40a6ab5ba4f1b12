import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { waitConverged } from "../support/tree.ts";

/** Waits until the two trees are equal (content, modes, mtimes, types), or fails with the difference. */
Deno.test("after joining, changes on either side reach the other as they happen", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-live-" });
  try {
    const a = join(tmp, "a");
    const b = join(tmp, "b");
    await Deno.mkdir(a);
    await Deno.writeTextFile(join(a, "start.txt"), "start\n");
    const { sharer, port } = await startSharer(a, join(tmp, "home-a"));
    await using _a = sharer;
    await using joiner = FsyncProcess.start(["--home", join(tmp, "home-b"), "join", `127.0.0.1:${port}`, b, "--yes"]);
    await joiner.waitFor(/In sync:/);
    await waitConverged(a, b, "initial sync");
    const steps: [string, () => Promise<void>][] = [
      ["create on the sharer", () => Deno.writeTextFile(join(a, "new.txt"), "made on a\n")],
      ["modify on the joiner", () => Deno.writeTextFile(join(a, "../b/new.txt"), "changed on b\n")],
      ["delete on the sharer", () => Deno.remove(join(a, "start.txt"))],
      ["new directory with files on the joiner", async () => {
        await Deno.mkdir(join(b, "dir/sub"), { recursive: true });
        for (let i = 0; i < 20; i++) await Deno.writeTextFile(join(b, `dir/sub/f${i}.txt`), `file ${i}\n`);
      }],
      ["rename on the sharer", () => Deno.rename(join(a, "new.txt"), join(a, "dir/renamed.txt"))],
      ["chmod on the joiner", () => Deno.chmod(join(b, "dir/renamed.txt"), 0o600)],
      ["delete a directory tree on the sharer", () => Deno.remove(join(a, "dir/sub"), { recursive: true })],
      ["empty file and empty directory on the joiner", async () => {
        await Deno.writeFile(join(b, "empty.bin"), new Uint8Array());
        await Deno.mkdir(join(b, "empty-dir"));
      }],
      ["mtime-only change on the sharer", () => {
        const when = new Date("2031-05-06T07:08:09.123Z");
        return Deno.utime(join(a, "dir/renamed.txt"), when, when);
      }],
      ["move a directory into another on the joiner", async () => {
        await Deno.mkdir(join(b, "tree/deep"), { recursive: true });
        await Deno.writeTextFile(join(b, "tree/deep/leaf.txt"), "leaf\n");
        await waitConverged(a, b, "tree made");
        await Deno.rename(join(b, "tree"), join(b, "empty-dir/moved-tree"));
      }],
      ["file replaced by a directory on the sharer", async () => {
        await Deno.remove(join(a, "empty.bin"));
        await Deno.mkdir(join(a, "empty.bin"));
        await Deno.writeTextFile(join(a, "empty.bin/inside.txt"), "inside\n");
      }],
      ["directory replaced by a file on the joiner", async () => {
        await Deno.remove(join(b, "empty.bin"), { recursive: true });
        await Deno.writeTextFile(join(b, "empty.bin"), "a file again\n");
      }],
      ["file replaced by a symlink on the sharer", async () => {
        await Deno.remove(join(a, "empty.bin"));
        await Deno.symlink("dir/renamed.txt", join(a, "empty.bin"));
      }],
    ];
    for (const [description, change] of steps) {
      await t.step(description, async () => {
        await change();
        await waitConverged(a, b, description);
      });
    }
    assert.equal(await Deno.readTextFile(join(a, "dir/renamed.txt")), "changed on b\n");
    assert.equal((await Deno.stat(join(a, "dir/renamed.txt"))).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(join(a, "empty-dir/moved-tree/deep/leaf.txt")), "leaf\n");
    assert.equal(await Deno.readLink(join(b, "empty.bin")), "dir/renamed.txt");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a burst of 5,000 file creations reaches the other side", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-burst-" });
  try {
    const a = join(tmp, "a");
    const b = join(tmp, "b");
    await Deno.mkdir(a);
    const { sharer, port } = await startSharer(a, join(tmp, "home-a"));
    await using _a = sharer;
    await using joiner = FsyncProcess.start(["--home", join(tmp, "home-b"), "join", `127.0.0.1:${port}`, b, "--yes"]);
    await joiner.waitFor(/In sync:/);
    // All at once, many in directories made right before their files (inotify misses some of those).
    await Promise.all(Array.from({ length: 50 }, async (_, d) => {
      await Deno.mkdir(join(a, `burst-${d}`));
      for (let i = 0; i < 100; i++) await Deno.writeTextFile(join(a, `burst-${d}/f-${i}.txt`), `${d}/${i}\n`);
    }));
    await waitConverged(a, b, "burst of 5,000 files", 180_000);
    assert.equal([...Deno.readDirSync(join(b, "burst-49"))].length, 100);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
