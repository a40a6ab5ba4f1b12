import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { readFull } from "../fs/mod.ts";
import { FaultyFs } from "../../tests/support/faulty_fs.ts";
import { findTempFiles } from "../../tests/support/tree.ts";
import { Store } from "../store/mod.ts";
import type { BlockWant, FileInfo } from "../model/mod.ts";
import { type BlockSource, tempPathFor } from "../transfer/mod.ts";
import { type FolderProblem, FolderRunner, type FolderRunnerOptions, type PullProgress } from "./folder_runner.ts";
import { silentLogger } from "./logger.ts";

async function withRunner(fn: (root: string, runner: FolderRunner, store: Store) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  const store = await Store.open(":memory:");
  try {
    const folder = { id: "f1", label: "f1", path: root, indexId: "i1" };
    await fn(
      root,
      new FolderRunner(folder, store, { shortId: "ME00000", logger: silentLogger, nowMs: () => Date.now() }),
      store,
    );
  } finally {
    store.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("scan requests made while one waits join it: one scan of all their paths", () =>
  withRunner(async (root, runner, store) => {
    for (const name of ["a", "b", "c", "unhinted"]) await Deno.writeTextFile(join(root, name), name);
    const requests = [runner.requestScan(["a"]), runner.requestScan(["b"]), runner.requestScan(["c", "a"])];
    assert.equal(requests[0], requests[1]);
    assert.equal(requests[0], requests[2]);
    assert.equal(await requests[0], 3);
    assert.deepEqual((await Array.fromAsync(store.listLocal("f1"))).map((f) => f.path), ["a", "b", "c"]);
  }));

Deno.test("a waiting scan that gathers too many paths becomes a full scan", () =>
  withRunner(async (root, runner, store) => {
    for (const name of ["a", "b", "unhinted"]) await Deno.writeTextFile(join(root, name), name);
    const first = runner.requestScan(["a"]);
    void runner.requestScan(Array.from({ length: 10_001 }, (_, i) => `gone-${i}`));
    assert.equal(await first, 3);
    assert.deepEqual((await Array.fromAsync(store.listLocal("f1"))).map((f) => f.path), ["a", "b", "unhinted"]);
  }));

Deno.test("a scan of some paths holds what it finds gone for the grace: a move hinted in two halves commits its new paths first", async () => {
  const root = await Deno.makeTempDir();
  const store = await Store.open(":memory:");
  try {
    let now = 1_000_000;
    const folder = { id: "f1", label: "f1", path: root, indexId: "i1" };
    const options = { shortId: "ME00000", logger: silentLogger, nowMs: () => now, deletionGraceMs: 1_000 };
    const runner = new FolderRunner(folder, store, options);
    await Deno.mkdir(join(root, "album"));
    for (const name of ["one", "two"]) await Deno.writeTextFile(join(root, "album", name), name);
    await Deno.writeTextFile(join(root, "note"), "draft");
    await runner.scan();
    const live = async () =>
      (await Array.fromAsync(store.listLocal("f1"))).filter((f) => !f.deleted).map((f) => f.path).sort();
    await Deno.rename(join(root, "album"), join(root, "holiday"));
    await Deno.remove(join(root, "note"));

    // The old halves first: nothing is committed, both wait.
    assert.equal(await runner.scan(["album", "note"]), 0);
    assert.deepEqual(await live(), ["album", "album/one", "album/two", "note"]);
    assert.deepEqual(runner.heldDeletions, { paths: ["album", "album/one", "album/two", "note"], dueInMs: 1_000 });
    // The new half commits at once; the note is written again within the grace.
    assert.equal(await runner.scan(["holiday"]), 3);
    await Deno.writeTextFile(join(root, "note"), "final");
    now += 600;
    assert.equal(await runner.scan(["note"]), 1);
    assert.deepEqual(runner.heldDeletions?.paths, ["album", "album/one", "album/two"]);
    assert.equal(runner.heldDeletions?.dueInMs, 400);
    // Early, the old paths still wait; once due, their tombstones are committed.
    assert.equal(await runner.scan(runner.heldDeletions!.paths), 0);
    now += 400;
    assert.equal(await runner.scan(runner.heldDeletions!.paths), 3);
    assert.equal(runner.heldDeletions, undefined);
    assert.deepEqual(await live(), ["holiday", "holiday/one", "holiday/two", "note"]);
    const note = (await store.getLocalMany("f1", ["note"]))[0]!;
    assert.equal(note.deleted, false);
    assert.equal(note.version.ME00000, 2, "the note was never recorded deleted");
  } finally {
    store.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a full scan commits what it finds gone at once, and what scans of some paths held; a stopped folder holds nothing", async () => {
  const root = await Deno.makeTempDir();
  const store = await Store.open(":memory:");
  try {
    const folder = { id: "f1", label: "f1", path: root, indexId: "i1" };
    const options = { shortId: "ME00000", logger: silentLogger, nowMs: () => 5_000, deletionGraceMs: 60_000 };
    const runner = new FolderRunner(folder, store, options);
    for (const name of ["a", "b"]) await Deno.writeTextFile(join(root, name), name);
    await runner.scan();
    for (const name of ["a", "b"]) await Deno.remove(join(root, name));
    assert.equal(await runner.scan(["a"]), 0);
    assert.deepEqual(runner.heldDeletions?.paths, ["a"]);
    assert.equal(await runner.scan(), 2);
    assert.equal(runner.heldDeletions, undefined);
    // A stopped folder holds nothing: the full scan on resuming decides.
    await Deno.writeTextFile(join(root, "c"), "c");
    await runner.scan();
    await Deno.remove(join(root, "c"));
    assert.equal(await runner.scan(["c"]), 0);
    const held = () => runner.heldDeletions; // read afresh (an assertion above narrowed the getter)
    assert.deepEqual(held()?.paths, ["c"]);
    await Deno.remove(join(root, ".fsyncfolder"));
    assert.equal(await runner.scan(["c"]), 0);
    assert.equal(runner.problem?.kind, "stopped");
    assert.equal(held(), undefined);
    assert.deepEqual(
      (await Array.fromAsync(store.listLocal("f1"))).filter((f) => f.path !== "c").map((f) => [
        f.path,
        f.deleted,
      ]),
      [
        ["a", true],
        ["b", true],
      ],
    );
  } finally {
    store.close();
    await Deno.remove(root, { recursive: true });
  }
});

/** Serves blocks from the files under `root`, recording what was asked; offsets from `failFrom` on fail 20 ms later. */
function diskSource(root: string, failFrom = Infinity): BlockSource & { requested: BlockWant[] } {
  const requested: BlockWant[] = [];
  return {
    requested,
    fetchBlock: async (want) => {
      requested.push(want);
      if (want.offset >= failFrom) {
        await new Promise((r) => setTimeout(r, 20));
        throw new Error("peer went away");
      }
      using file = await Deno.open(join(root, want.path));
      await file.seek(want.offset, Deno.SeekMode.Start);
      const data = new Uint8Array(want.size);
      await readFull(file, data);
      return data;
    },
  };
}

/** A peer's folder and this device's replica of it, each with its own store, in one process. */
interface TwoFolders {
  /** The peer's folder, scanned by `peer`; `publish()` hands its index to this device as "PEER"'s. */
  readonly source: string;
  readonly peer: FolderRunner;
  /** This device's folder and store. */
  readonly target: string;
  readonly store: Store;
  /** The peer's index as it is now, received here; returns its entries. */
  publish(): Promise<FileInfo[]>;
  /** A runner of this device's folder. */
  replica(options?: Partial<FolderRunnerOptions>): FolderRunner;
}

async function withTwoFolders(fn: (t: TwoFolders) => Promise<void>): Promise<void> {
  const [source, target] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const [peerStore, store] = [await Store.open(":memory:"), await Store.open(":memory:")];
  const folder = { id: "f1", label: "f1", indexId: "i1" };
  const base = { logger: silentLogger, nowMs: () => Date.now() };
  try {
    await fn({
      source,
      target,
      store,
      peer: new FolderRunner({ ...folder, path: source }, peerStore, { ...base, shortId: "AAAAAAA" }),
      async publish() {
        const files = await Array.fromAsync(peerStore.listLocal("f1"));
        await store.applyRemote("f1", "PEER", files, { indexId: "i1", sequence: files.length });
        return files;
      },
      replica: (options = {}) =>
        new FolderRunner({ ...folder, path: target }, store, { ...base, shortId: "BBBBBBB", ...options }),
    });
  } finally {
    peerStore.close();
    store.close();
    await Deno.remove(source, { recursive: true });
    await Deno.remove(target, { recursive: true });
  }
}

Deno.test("a pull reports its totals from the start, and its last report has every file and byte done", () =>
  withTwoFolders(async ({ source, peer, publish, replica }) => {
    for (let i = 0; i < 40; i++) await Deno.writeTextFile(join(source, `file-${i}`), "x".repeat(i * 100));
    await peer.scan();
    const files = await publish();
    const reports: PullProgress[] = [];
    const b = replica({ onPullProgress: (p) => reports.push(p) });
    const result = await b.pullFrom("PEER", diskSource(source));
    assert.equal(result.problems.length, 0);
    assert.equal(result.written, 40);
    const bytes = files.reduce((n, f) => n + f.size, 0);
    assert.deepEqual(reports.at(-1), {
      peerId: "PEER",
      filesTotal: 40,
      filesDone: 40,
      bytesTotal: bytes,
      bytesFetched: bytes,
      bytesReused: 0,
      done: true,
    });
    assert.ok(
      reports.every((r) => r.filesTotal === 40 && r.bytesTotal === bytes),
      "totals are known from the first report",
    );
  }));

/** Live (not deleted) paths of a folder's local index. */
async function livePaths(store: Store, folderId = "f1"): Promise<string[]> {
  return (await Array.fromAsync(store.listLocal(folderId))).filter((f) => !f.deleted).map((f) => f.path).sort();
}

const noBlocks = { fetchBlock: () => Promise.reject(new Error("no block is to be fetched")) };

Deno.test("a home from before markers gets its marker at its first non-empty start, and keeps syncing", () =>
  withRunner(async (root, _runner, store) => {
    for (const name of ["a", "b"]) await Deno.writeTextFile(join(root, name), name);
    // The folder as a pre-marker home holds it: indexed, never marked.
    const old = new FolderRunner({ id: "f1", label: "f1", path: root, indexId: "i1" }, store, {
      shortId: "ME00000",
      logger: silentLogger,
      nowMs: () => Date.now(),
    });
    assert.equal(await old.scan(), 2);
    assert.equal((await Deno.lstat(join(root, ".fsyncfolder"))).isFile, true);
    assert.equal(old.folder.marked, true);
    assert.equal((await store.getFolder("f1"))?.marked, true);
    assert.equal(old.problem, undefined);
    assert.deepEqual(await livePaths(store), ["a", "b"], "the marker is not content");
  }));

Deno.test("a root that lost its marker (an empty mount point) is stopped: nothing deleted, nothing written", () =>
  withRunner(async (root, runner, store) => {
    for (let i = 0; i < 40; i++) await Deno.writeTextFile(join(root, `f${i}`), `${i}`);
    await runner.scan();
    const before = await livePaths(store);
    // Unmounted: the mount point is an empty directory.
    for await (const e of Deno.readDir(root)) await Deno.remove(join(root, e.name));
    assert.equal(await runner.scan(), 0);
    assert.deepEqual(await livePaths(store), before, "no tombstone recorded");
    assert.equal(runner.problem?.kind, "stopped");
    assert.match(runner.problem!.message, /looks unmounted or replaced: marker \.fsyncfolder missing/);
    assert.match(runner.problem!.message, /fsync folder rescan --accept-empty f1/);
    // A peer's file is not written into the replaced root.
    const peerFile = { ...(await store.getLocal("f1", "f0"))!, path: "from-peer", version: { PEER: 1 } };
    await store.applyRemote("f1", "PEER", [peerFile], { indexId: "p1", sequence: 1 });
    const pulled = await runner.pullFrom("PEER", noBlocks);
    assert.equal(pulled.written, 0);
    assert.equal(pulled.problems.length, 1);
    assert.deepEqual([...Deno.readDirSync(root)], []);
    // The disk is back (marker and files): the folder syncs again, and nothing was deleted.
    await Deno.writeTextFile(join(root, ".fsyncfolder"), "");
    for (let i = 0; i < 40; i++) await Deno.writeTextFile(join(root, `f${i}`), `${i}`);
    await runner.scan(["f1"]);
    assert.equal(runner.problem, undefined);
    assert.deepEqual(await livePaths(store), before);
  }));

Deno.test("a removed root is stopped, and --accept-empty takes it as it is: every file is deleted", () =>
  withRunner(async (root, runner, store) => {
    for (const name of ["a", "b"]) await Deno.writeTextFile(join(root, name), name);
    await runner.scan();
    await Deno.remove(root, { recursive: true });
    assert.equal(await runner.scan(), 0);
    assert.match(runner.problem!.message, /the folder is missing/);
    assert.deepEqual(await livePaths(store), ["a", "b"]);
    assert.equal(await runner.acceptEmpty(), 2);
    assert.equal(runner.problem, undefined);
    assert.deepEqual(await livePaths(store), []);
    assert.equal((await Deno.lstat(join(root, ".fsyncfolder"))).isFile, true);
  }));

Deno.test("a pre-marker home whose root is empty while its index holds files is stopped, not emptied", () =>
  withRunner(async (root, runner, store) => {
    await Deno.writeTextFile(join(root, "a"), "a");
    await runner.scan();
    // As if the marker had never been made: a record from before markers, root now empty.
    await store.putFolder({ id: "f1", label: "f1", path: root, indexId: "i1" });
    await Deno.remove(join(root, "a"));
    await Deno.remove(join(root, ".fsyncfolder"));
    const old = new FolderRunner((await store.getFolder("f1"))!, store, {
      shortId: "ME00000",
      logger: silentLogger,
      nowMs: () => Date.now(),
    });
    assert.equal(await old.scan(), 0);
    assert.equal(old.problem?.kind, "stopped");
    assert.deepEqual(await livePaths(store), ["a"]);
    assert.deepEqual([...Deno.readDirSync(root)], [], "no marker made in an empty root");
  }));

Deno.test("a big local deletion is held until confirmed; a small one, or one under the thresholds, is not", () =>
  withRunner(async (root, runner, store) => {
    await Deno.mkdir(join(root, "big"));
    for (let i = 0; i < 150; i++) await Deno.writeTextFile(join(root, "big", `f${i}`), `big ${i}`);
    for (let i = 0; i < 50; i++) await Deno.writeTextFile(join(root, `keep${i}`), `keep ${i}`);
    await runner.scan();
    // 101 of 201 files (the new one counts): more than 50 % and more than 100 files.
    for (let i = 0; i < 101; i++) await Deno.remove(join(root, "big", `f${i}`));
    await Deno.writeTextFile(join(root, "new"), "new");
    await runner.scan();
    assert.equal(runner.problem?.kind, "deletions-held");
    assert.match(runner.problem!.message, /^101 of 201 files were deleted .*fsync folder confirm-deletes f1/);
    assert.equal((await livePaths(store)).length, 202, "the deletions wait; the new file is recorded");
    // Hinted scans under a hold do not send the deletions piecemeal.
    await runner.scan(["big/f0", "big/f1"]);
    assert.equal((await livePaths(store)).length, 202);
    assert.equal(await runner.confirmDeletes(), 101);
    assert.equal(runner.problem, undefined);
    assert.equal((await livePaths(store)).length, 101);
    // 100 files at once is not more than 100: not held.
    for (let i = 0; i < 50; i++) await Deno.remove(join(root, `keep${i}`));
    for (let i = 101; i < 151; i++) await Deno.remove(join(root, "big", `f${i}`)).catch(() => {});
    await runner.scan();
    assert.equal(runner.problem, undefined);
    assert.deepEqual(await livePaths(store), ["big", "new"]);
  }));

Deno.test("files whose content stays in the folder are no big deletion: a renamed directory, originals of copies; copies deleted with them are", () =>
  withRunner(async (root, runner, store) => {
    await Deno.mkdir(join(root, "photos"));
    for (let i = 0; i < 150; i++) await Deno.writeTextFile(join(root, "photos", `p${i}`), `photo ${i}`);
    await Deno.symlink("photos/p0", join(root, "photos", "latest"));
    await runner.scan();
    // The whole folder, renamed in one step: its files come back in the same scan.
    await Deno.rename(join(root, "photos"), join(root, "pictures"));
    await runner.scan();
    assert.equal(runner.problem, undefined);
    assert.equal((await livePaths(store)).filter((p) => p.startsWith("pictures/")).length, 151);
    // Renamed again, and a scan told of the old name only (the watcher reported the two ends
    // in separate batches): it finds 151 files gone, and a full scan finds them moved.
    await Deno.rename(join(root, "pictures"), join(root, "photos"));
    await runner.scan(["pictures"]);
    assert.equal(runner.problem, undefined);
    assert.equal((await livePaths(store)).filter((p) => p.startsWith("pictures")).length, 0);
    assert.equal((await livePaths(store)).filter((p) => p.startsWith("photos/")).length, 151);
    await Deno.rename(join(root, "photos"), join(root, "pictures"));
    await runner.scan();
    // Copied, the copies indexed, then the originals deleted: their blocks are in the copies.
    await Deno.mkdir(join(root, "backup"));
    for (let i = 0; i < 150; i++) await Deno.copyFile(join(root, "pictures", `p${i}`), join(root, "backup", `p${i}`));
    await runner.scan();
    await Deno.remove(join(root, "pictures"), { recursive: true });
    await runner.scan();
    assert.equal(runner.problem, undefined);
    assert.equal((await livePaths(store)).filter((p) => p.startsWith("pictures")).length, 0);
    // Copies and originals gone together: that content is lost, and held.
    await Deno.mkdir(join(root, "twins"));
    for (let i = 0; i < 150; i++) await Deno.copyFile(join(root, "backup", `p${i}`), join(root, "twins", `p${i}`));
    await runner.scan();
    await Deno.remove(join(root, "backup"), { recursive: true });
    await Deno.remove(join(root, "twins"), { recursive: true });
    await runner.scan(["backup", "twins"]);
    const problem = runner.problem as FolderProblem | undefined; // the assertions above narrowed it to undefined
    assert.equal(problem?.kind, "deletions-held");
    assert.match(problem!.message, /^300 of 300 files were deleted/);
  }));

Deno.test("a held deletion is released by a full scan that finds the files restored", () =>
  withRunner(async (root, runner, store) => {
    for (let i = 0; i < 120; i++) await Deno.writeTextFile(join(root, `f${i}`), "same");
    await runner.scan();
    const away = await Deno.makeTempDir();
    try {
      for (let i = 0; i < 120; i++) await Deno.rename(join(root, `f${i}`), join(away, `f${i}`));
      await runner.scan();
      assert.equal(runner.problem?.kind, "deletions-held");
      for (let i = 0; i < 120; i++) await Deno.rename(join(away, `f${i}`), join(root, `f${i}`));
      assert.equal(await runner.scan(), 0);
      assert.equal(runner.problem, undefined);
      assert.equal((await livePaths(store)).length, 120);
    } finally {
      await Deno.remove(away, { recursive: true });
    }
  }));

Deno.test("a directory tree moved within the folder is no big deletion, however many hints name its paths", () =>
  withRunner(async (root, runner, store) => {
    await Deno.mkdir(join(root, "tree/deep"), { recursive: true });
    const names = Array.from({ length: 30 }, (_, i) => i % 2 ? `tree/f${i}` : `tree/deep/f${i}`);
    for (const name of names) await Deno.writeTextFile(join(root, name), name);
    for (let i = 0; i < 30; i++) await Deno.writeTextFile(join(root, `keep${i}`), `${i}`);
    await runner.scan();
    await Deno.rename(join(root, "tree"), join(root, "moved"));
    // Hints that name paths below the moved directory, not the directory itself: each one finds
    // "tree" gone, and its tombstones must still be counted once.
    const hints = [...names, "moved", ...names.map((n) => n.replace("tree", "moved"))];
    await runner.scan(hints);
    assert.equal(runner.problem, undefined);
    assert.equal((await livePaths(store)).filter((p) => p.startsWith("tree")).length, 0, "the old paths are deleted");
    assert.equal((await livePaths(store)).filter((p) => p.startsWith("moved/")).length, 31);
  }));

Deno.test("temporary files: a scan keeps those a pending pull needs and removes the rest; a pass removes those superseded or deleted", () =>
  withTwoFolders(async ({ source, target, store, peer: a, publish, replica }) => {
    const MiB = 1 << 20;
    const big = new Uint8Array(3 * MiB).map((_, i) => (i * 7 + (i >> 17)) & 0xff);
    await Deno.writeFile(join(source, "resumed.bin"), big);
    await Deno.writeFile(join(source, "dropped.bin"), big.slice(0, 2 * MiB));
    await a.scan();
    const files = await publish();
    await store.addShare("f1", "PEER");
    const resumed = files.find((f) => f.path === "resumed.bin")!;
    // Left by an earlier run: a resumable pull of resumed.bin, and a temporary file no pull needs.
    const resumable = tempPathFor(join(target, "resumed.bin"), resumed);
    await Deno.writeFile(resumable, big.subarray(0, MiB));
    await Deno.writeFile(join(target, ".fsync-tmp-0123456789ab0123456789ab"), big.subarray(0, MiB));
    const b = replica();
    await b.scan();
    assert.deepEqual(await findTempFiles(target), [basename(resumable)]);

    // dropped.bin: the first MiB arrives, then the peer goes away; its temporary file stays.
    const failing = diskSource(source, MiB);
    const first = await b.pullFrom("PEER", failing);
    assert.deepEqual(first.problems.map((p) => p.path).sort(), ["dropped.bin", "resumed.bin"]);
    assert.equal(failing.requested.filter((w) => w.path === "resumed.bin" && w.offset < MiB).length, 0);
    assert.equal((await findTempFiles(target)).length, 2);

    // The peer deletes dropped.bin and rewrites resumed.bin: neither temporary file is needed any more.
    await Deno.remove(join(source, "dropped.bin"));
    big[2 * MiB] ^= 1;
    await Deno.writeFile(join(source, "resumed.bin"), big);
    await a.scan();
    await publish();
    const served = diskSource(source);
    const second = await b.pullFrom("PEER", served);
    assert.deepEqual(second.problems, []);
    assert.deepEqual(await Deno.readFile(join(target, "resumed.bin")), big);
    assert.deepEqual(await findTempFiles(target), []);
    // Its first MiB came from the superseded temporary file, not the peer.
    assert.deepEqual(served.requested.map((w) => w.offset).sort(), [MiB, 2 * MiB]);
  }));

Deno.test("a pull whose disk fails for two files (EIO at one's link into place, at the other's fdatasync) reports those paths only; the rest arrive; healed, the retry completes", () =>
  withTwoFolders(async ({ source, target, peer: a, publish, replica }) => {
    for (const name of ["a.bin", "b.bin", "c.bin", "d.bin"]) {
      await Deno.writeTextFile(join(source, name), name.repeat(999));
    }
    await a.scan();
    const files = await publish();
    const c = files.find((f) => f.path === "c.bin")!;
    const fs = new FaultyFs()
      .inject({ op: "link", path: "/b.bin", kind: "EIO" })
      .inject({ op: "datasync", path: basename(tempPathFor(join(target, "c.bin"), c)), kind: "EIO" });
    const b = replica({ fs });
    const first = await b.pullFrom("PEER", diskSource(source));
    const failed = first.problems.map((p) => p.path).sort();
    assert.deepEqual(failed, ["b.bin", "c.bin"], JSON.stringify(first.problems));
    for (const name of ["a.bin", "b.bin", "c.bin", "d.bin"]) {
      const there = await Deno.readTextFile(join(target, name)).catch(() => undefined);
      if (failed.includes(name)) assert.equal(there, undefined, `${name} is not written torn`);
      else assert.equal(there, name.repeat(999));
    }
    assert.deepEqual(b.pathProblems().list.map((p) => p.path), failed);
    fs.heal();
    assert.deepEqual((await b.pullFrom("PEER", diskSource(source))).problems, []);
    for (const name of ["a.bin", "b.bin", "c.bin", "d.bin"]) {
      assert.equal(await Deno.readTextFile(join(target, name)), name.repeat(999));
    }
    assert.equal(b.pathProblems().count, 0);
  }));

Deno.test("a path that cannot be synced is logged once while its reason stays, and listed until it is fine", () =>
  withTwoFolders(async ({ source, target, peer: a, publish, replica }) => {
    const warnings: string[] = [];
    const b = replica({ logger: { ...silentLogger, warn: (message: string) => void warnings.push(message) } });
    await Deno.writeTextFile(join(source, "Readme.md"), "theirs");
    await Deno.writeTextFile(join(target, "README.md"), "mine");
    await a.scan();
    await b.scan();
    await publish();
    for (let retry = 0; retry < 3; retry++) {
      const result = await b.pullFrom("PEER", diskSource(source));
      assert.deepEqual(result.problems.map((p) => p.path), ["Readme.md"]);
    }
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /^cannot sync Readme\.md: .*differs only in case/);
    assert.deepEqual(b.pathProblems().list.map((p) => p.path), ["Readme.md"]);
    b.forgetPeer("OTHER");
    assert.deepEqual(
      b.pathProblems().list.map((p) => p.path),
      ["Readme.md"],
      "another peer's forgetting clears nothing",
    );
    b.forgetPeer("PEER");
    assert.equal(b.pathProblems().count, 0, "a revoked peer's problems go with it");
    await b.pullFrom("PEER", diskSource(source));
    assert.deepEqual(b.pathProblems().list.map((p) => p.path), ["Readme.md"]);

    await Deno.remove(join(target, "README.md"));
    await b.scan();
    assert.deepEqual((await b.pullFrom("PEER", diskSource(source))).problems, []);
    assert.equal(b.pathProblems().count, 0);
  }));
