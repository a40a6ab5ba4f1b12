import assert from "node:assert/strict";
import { join } from "node:path";
import { type FileInfo, HASH_BYTES, sha256, TEMP_PREFIX } from "../model/mod.ts";
import { FileChangedError, hashFile } from "./hash_file.ts";
import { RECENT_MS, scanFolder, type ScanOptions, type ScanProblem } from "./scanner.ts";
import { makeInvalidUtf8File } from "../../tests/support/tree.ts";
import { denoFs } from "../fs/mod.ts";
import { FaultyFs } from "../../tests/support/faulty_fs.ts";

/** An in-memory local index: what the store would hold, committed as the device would. */
class MemoryIndex {
  readonly entries = new Map<string, FileInfo>();
  /** The paths asked for one by one, and the prefixes listed, since the last reset. */
  asked: string[] = [];
  listed: string[] = [];
  getMany(paths: readonly string[]): Promise<(FileInfo | undefined)[]> {
    this.asked.push(...paths);
    return Promise.resolve(paths.map((p) => this.entries.get(p)));
  }
  async *listUnder(prefix: string): AsyncGenerator<FileInfo> {
    this.listed.push(prefix);
    yield* [...this.entries.values()].filter((f) => f.path.startsWith(prefix));
  }
}

async function scan(
  root: string,
  index: MemoryIndex,
  problems: ScanProblem[] = [],
  options: Partial<ScanOptions> = {},
): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  const scan = scanFolder({
    root,
    fs: denoFs,
    index,
    shortId: "ME00000",
    onProblem: (p) => problems.push(p),
    nowMs: () => 5_000,
    ...options,
  });
  for await (const f of scan) {
    out.push(f);
    index.entries.set(f.path, f);
  }
  return out;
}

Deno.test("scanFolder() records every kind of entry, parents first", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "sub/deeper"), { recursive: true });
    await Deno.writeTextFile(join(root, "sub/deeper/a.txt"), "hello");
    await Deno.writeFile(join(root, "run.sh"), new Uint8Array(), { mode: 0o755 });
    await Deno.chmod(join(root, "run.sh"), 0o755);
    await Deno.symlink("sub/deeper/a.txt", join(root, "link"));
    await Deno.writeTextFile(join(root, `${TEMP_PREFIX}abc`), "partial pull");
    const index = new MemoryIndex();
    const found = await scan(root, index);
    const byPath = new Map(found.map((f) => [f.path, f]));
    assert.deepEqual(found.map((f) => f.path).sort(), ["link", "run.sh", "sub", "sub/deeper", "sub/deeper/a.txt"]);
    assert.ok(found.findIndex((f) => f.path === "sub") < found.findIndex((f) => f.path === "sub/deeper/a.txt"));
    const a = byPath.get("sub/deeper/a.txt")!;
    assert.equal(a.size, 5);
    assert.deepEqual(a.blockHashes, sha256(new TextEncoder().encode("hello")));
    assert.deepEqual(a.version, { ME00000: 1 });
    assert.equal(byPath.get("run.sh")!.mode, 0o755);
    assert.equal(byPath.get("run.sh")!.blockHashes.length, 0);
    assert.equal(byPath.get("link")!.type, "symlink");
    assert.equal(byPath.get("link")!.symlinkTarget, "sub/deeper/a.txt");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scanFolder() reports only changes, and does not read files whose stat is unchanged", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(root, "keep.txt"), "aaaa");
    await Deno.writeTextFile(join(root, "edit.txt"), "bbbb");
    await Deno.writeTextFile(join(root, "gone.txt"), "cccc");
    const index = new MemoryIndex();
    await scan(root, index);
    assert.deepEqual(await scan(root, index), [], "a second scan finds nothing");

    // Same size, same mtime, same inode: the scanner must trust stat and not read it.
    const st = await Deno.stat(join(root, "keep.txt"));
    using f = await Deno.open(join(root, "keep.txt"), { write: true });
    await f.write(new TextEncoder().encode("zzzz"));
    await Deno.utime(join(root, "keep.txt"), st.atime!, st.mtime!);
    await Deno.writeTextFile(join(root, "edit.txt"), "bbbb plus");
    await Deno.remove(join(root, "gone.txt"));
    await Deno.chmod(join(root, "keep.txt"), 0o600);

    const changes = new Map((await scan(root, index)).map((c) => [c.path, c]));
    assert.deepEqual([...changes.keys()].sort(), ["edit.txt", "gone.txt", "keep.txt"]);
    assert.equal(changes.get("gone.txt")!.deleted, true);
    assert.deepEqual(changes.get("gone.txt")!.version, { ME00000: 2 });
    assert.equal(changes.get("edit.txt")!.size, 9);
    const keep = changes.get("keep.txt")!;
    assert.equal(keep.mode, 0o600);
    assert.deepEqual(keep.blockHashes, sha256(new TextEncoder().encode("aaaa")), "mode-only change keeps old hashes");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a full scan lists the index once and reads entries only of the paths whose stat changed", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "a/b"), { recursive: true });
    for (const name of ["a/one.txt", "a/b/two.txt", "three.txt", "gone.txt", "a/b/gone-too.txt"]) {
      await Deno.writeTextFile(join(root, name), name);
    }
    // Directory times in the past: the deletions below change a/b's mtime even when the whole test
    // runs within one tick of the file system's coarse clock.
    for (const dir of ["a", "a/b"]) await Deno.utime(join(root, dir), 1_600_000_000, 1_600_000_000);
    const index = new MemoryIndex();
    await scan(root, index);
    index.asked = [];
    index.listed = [];
    assert.deepEqual(await scan(root, index), []);
    assert.deepEqual(index.listed, [""], "one listing");
    assert.deepEqual(index.asked, [], "no entry read when every stat matched");

    await Deno.writeTextFile(join(root, "a/b/two.txt"), "changed");
    await Deno.remove(join(root, "gone.txt"));
    await Deno.remove(join(root, "a/b/gone-too.txt"));
    const changes = await scan(root, index);
    assert.deepEqual(
      changes.map((c) => [c.path, c.deleted]).sort(),
      [["a/b", false], ["a/b/gone-too.txt", true], ["a/b/two.txt", false], ["gone.txt", true]],
    );
    assert.deepEqual(index.asked.sort(), ["a/b", "a/b/gone-too.txt", "a/b/two.txt", "gone.txt"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scanFolder() records only the 0o777 bits: setuid, setgid and sticky bits are no change", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(root, "tool"), "#!/bin/sh\n");
    await Deno.chmod(join(root, "tool"), 0o4755);
    await Deno.mkdir(join(root, "shared"));
    await Deno.chmod(join(root, "shared"), 0o2775);
    const index = new MemoryIndex();
    const found = new Map((await scan(root, index)).map((f) => [f.path, f.mode]));
    assert.deepEqual(found, new Map([["tool", 0o755], ["shared", 0o775]]));
    await Deno.chmod(join(root, "tool"), 0o6755);
    await Deno.chmod(join(root, "shared"), 0o3775);
    assert.deepEqual(await scan(root, index), [], "a change of special bits alone is not a change");
    await Deno.chmod(join(root, "tool"), 0o4750);
    assert.deepEqual((await scan(root, index)).map((f) => [f.path, f.mode]), [["tool", 0o750]]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scanFolder() with hinted paths: new subtrees, and whatever was under a path that is no directory now", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "d/e"), { recursive: true });
    await Deno.writeTextFile(join(root, "d/e/f.txt"), "f");
    await Deno.writeTextFile(join(root, "d/g.txt"), "g");
    await Deno.mkdir(join(root, "x"));
    await Deno.writeTextFile(join(root, "x/y.txt"), "y");
    const index = new MemoryIndex();
    await scan(root, index);

    await Deno.mkdir(join(root, "new/deep"), { recursive: true });
    await Deno.writeTextFile(join(root, "new/deep/n.txt"), "n");
    const created = await scan(root, index, [], { paths: ["new"] });
    assert.deepEqual(created.map((f) => f.path), ["new", "new/deep", "new/deep/n.txt"]);

    // d becomes a file; the hint names only d. x becomes a file; the hint names a path below it.
    await Deno.remove(join(root, "d"), { recursive: true });
    await Deno.writeTextFile(join(root, "d"), "now a file");
    await Deno.remove(join(root, "x"), { recursive: true });
    await Deno.writeTextFile(join(root, "x"), "also a file");
    const replaced = await scan(root, index, [], { paths: ["d", "x/y.txt"] });
    const summary = replaced.map((f) => `${f.path}:${f.deleted ? "deleted" : f.type}`).sort();
    assert.deepEqual(summary, [
      "d/e/f.txt:deleted",
      "d/e:deleted",
      "d/g.txt:deleted",
      "d:file",
      "x/y.txt:deleted",
      "x:file",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scanFolder() reports recent files and, asked to recheck them, finds a write that left the stat unchanged", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "racy.txt");
    await Deno.writeTextFile(path, "aaaa");
    await Deno.writeTextFile(join(root, "old.txt"), "old");
    await Deno.utime(join(root, "old.txt"), new Date(2020, 0, 1), new Date(2020, 0, 1));
    const index = new MemoryIndex();
    const recent: string[] = [];
    const options = { nowMs: () => Date.now(), onRecent: (p: string) => recent.push(p) };
    await scan(root, index, [], options);
    assert.deepEqual(recent, ["racy.txt"], "only the file modified within RECENT_MS");

    // A second write in the same clock tick: same size, same mtime, same inode.
    const st = await Deno.stat(path);
    using f = await Deno.open(path, { write: true });
    await f.write(new TextEncoder().encode("bbbb"));
    await Deno.utime(path, st.atime!, st.mtime!);
    assert.deepEqual(await scan(root, index, [], options), [], "the stat alone cannot tell");
    const rechecked = await scan(root, index, [], { ...options, paths: ["racy.txt"], recheck: new Set(["racy.txt"]) });
    assert.deepEqual(rechecked.map((r) => r.path), ["racy.txt"]);
    assert.deepEqual(rechecked[0].blockHashes, sha256(new TextEncoder().encode("bbbb")));
    const again = await scan(root, index, [], { ...options, recheck: new Set(["racy.txt", "old.txt"]) });
    assert.deepEqual(again, [], "a recheck of unchanged content is no new version");
    assert.ok(RECENT_MS >= 2_000);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scanFolder() skips names it cannot sync and reports them", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(root, "e\u0301.txt"), "not NFC");
    await Deno.writeTextFile(join(root, "fine.txt"), "ok");
    await Deno.writeTextFile(join(root, ".fsync-tmp-notes.txt"), "the user's, though it looks like fsync's");
    await Deno.writeTextFile(join(root, ".fsync-tmp-0123456789ab0123456789ab"), "fsync's");
    const problems: ScanProblem[] = [];
    const temps: string[] = [];
    const found = await scan(root, new MemoryIndex(), problems, { onTempFile: (path) => temps.push(path) });
    assert.deepEqual(found.map((f) => f.path), ["fine.txt"]);
    assert.deepEqual(problems.map((p) => p.path).sort(), [".fsync-tmp-notes.txt", "e\u0301.txt"]);
    assert.match(problems.find((p) => p.path.startsWith("e"))!.message, /NFC/);
    assert.match(problems.find((p) => p.path.startsWith("."))!.message, /temporary name/);
    assert.deepEqual(temps, [".fsync-tmp-0123456789ab0123456789ab"], "only fsync's own names are its temporary files");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scanFolder() reports a file over 100 GiB without reading it, and keeps the entry it had", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(root, "disk.img"), "small at first");
    await Deno.writeTextFile(join(root, "fine.txt"), "ok");
    const index = new MemoryIndex();
    for (const f of await scan(root, index)) index.entries.set(f.path, { ...f, sequence: 1 });
    await Deno.truncate(join(root, "disk.img"), 120 * 2 ** 30); // sparse: no block written
    const problems: ScanProblem[] = [];
    const unread = () => assert.fail("a file over the limit was opened");
    const fs = { ...denoFs, open: unread, openSync: unread };
    assert.deepEqual(await scan(root, index, problems, { fs }), [], "no change: disk.img keeps its entry");
    assert.deepEqual(problems, [{
      path: "disk.img",
      message: "not synced: 120.0 GiB is over fsync's limit of 100.0 GiB",
    }]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scanFolder() reports a name that is not UTF-8 and syncs the rest", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "d"));
    const name = await makeInvalidUtf8File(join(root, "d"), "bad-");
    await Deno.writeTextFile(join(root, "d", "fine.txt"), "ok");
    const problems: ScanProblem[] = [];
    const found = await scan(root, new MemoryIndex(), problems);
    assert.deepEqual(found.map((f) => f.path), ["d", "d/fine.txt"]);
    assert.deepEqual(problems.map((p) => p.path), [`d/${name}`]);
    assert.match(problems[0].message, /not valid UTF-8/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scanFolder() fails with a clear error when the folder is missing", async () => {
  await assert.rejects(
    scan("/nonexistent/fsync-test", new MemoryIndex()),
    /cannot read folder \/nonexistent\/fsync-test/,
  );
});

Deno.test("hashFile() cuts content-defined blocks, hashes each once and notices a file that shrank, grew or was written to", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const size of [0, 1, 32 * 1024, 300_000, 3_000_000]) {
      const data = new Uint8Array(size);
      for (let at = 0; at < size; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
      await Deno.writeFile(join(dir, "f"), data);
      const { blockHashes, blockSizes, contentHash } = await hashFile(denoFs, join(dir, "f"), data.length);
      assert.equal(blockHashes.length, blockSizes.length * HASH_BYTES);
      assert.equal(blockSizes.reduce((n, b) => n + b, 0), size);
      if (size <= 32 * 1024) assert.equal(blockSizes.length, size === 0 ? 0 : 1, "a small file is one block");
      else assert.ok(blockSizes.length > 1, `${size} bytes make ${blockSizes.length} blocks`);
      for (let i = 0, at = 0; i < blockSizes.length; at += blockSizes[i], i++) {
        assert.deepEqual(
          blockHashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES),
          sha256(data.subarray(at, at + blockSizes[i])),
        );
      }
      assert.deepEqual(contentHash, sha256(blockHashes));
    }
    const size = 3_000_000;
    await assert.rejects(hashFile(denoFs, join(dir, "f"), size + 10), FileChangedError);
    await assert.rejects(hashFile(denoFs, join(dir, "f"), size - 10), FileChangedError);
    const { mtime } = await Deno.stat(join(dir, "f"));
    await hashFile(denoFs, join(dir, "f"), size, mtime);
    await assert.rejects(hashFile(denoFs, join(dir, "f"), size, new Date(mtime!.getTime() - 1)), /changed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scanFolder() with hinted paths below a vanished directory deletes each path once", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "gone/sub"), { recursive: true });
    for (const name of ["a", "b", "sub/c"]) await Deno.writeTextFile(join(root, "gone", name), name);
    const index = new MemoryIndex();
    await scan(root, index);
    await Deno.remove(join(root, "gone"), { recursive: true });
    // As a device scans: the index learns of the tombstones only after the scan.
    const paths = ["gone/a", "gone/b", "gone/sub/c", "gone/sub"];
    const deleted = await Array.fromAsync(
      scanFolder({ root, fs: denoFs, index, shortId: "ME00000", onProblem: () => {}, nowMs: () => 5_000, paths }),
    );
    assert.deepEqual(deleted.map((f) => `${f.path}:${f.deleted}`).sort(), [
      "gone/a:true",
      "gone/b:true",
      "gone/sub/c:true",
      "gone/sub:true",
      "gone:true",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scanFolder() meeting EIO or EACCES on some paths reports those paths only; their entries stay, the rest is scanned", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "locked"));
    for (const [path, text] of [["locked/z.txt", "z"], ["y.txt", "y"], ["kept.txt", "k"]]) {
      await Deno.writeTextFile(join(root, path), text);
    }
    const index = new MemoryIndex();
    await scan(root, index);
    await Deno.writeTextFile(join(root, "x.bin"), "new, unreadable");
    await Deno.writeTextFile(join(root, "ok.txt"), "new, fine");
    await Deno.writeTextFile(join(root, "y.txt"), "changed, failing");
    const fs = new FaultyFs()
      .inject({ op: "readDir", path: "/locked", kind: "EACCES" })
      .inject({ op: "open", path: "/x.bin", kind: "EIO" })
      .inject({ op: "lstat", path: "/y.txt", kind: "EIO" });
    const problems: ScanProblem[] = [];
    const found = await scan(root, index, problems, { fs });
    assert.deepEqual(problems.map((p) => p.path).sort(), ["locked", "x.bin", "y.txt"]);
    assert.deepEqual(found.map((f) => `${f.path}${f.deleted ? " deleted" : ""}`), ["ok.txt"]);
    assert.equal(index.entries.get("y.txt")?.size, 1, "y.txt keeps its entry");
    assert.equal(index.entries.get("locked/z.txt")?.deleted, false, "nothing under locked/ is deleted");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
