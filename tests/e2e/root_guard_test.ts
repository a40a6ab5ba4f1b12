import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, FsyncProcess, startLivePair, startSharer } from "../support/peer.ts";
import { waitContent } from "../support/tree.ts";

/** Names of the files (not the marker) directly in `dir`. */
function filesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n !== ".fsyncfolder").sort();
}

/** Waits until `dir` holds exactly `count` files. */
async function waitCount(dir: string, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (filesIn(dir).length !== count) {
    if (Date.now() > deadline) throw new Error(`${dir} holds ${filesIn(dir).length} files, not ${count}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function writeFiles(dir: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await Deno.writeTextFile(join(dir, `f${i}.txt`), `file ${i}\n`);
}

const FORTY = Array.from({ length: 40 }, (_, i) => `f${i}.txt`).sort();

Deno.test("a sharer restarted on an empty root (an unmounted disk) deletes nothing on the joiner", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-root-" });
  const [a, b, homeA, homeB] = ["a", "b", "home-a", "home-b"].map((d) => join(tmp, d));
  try {
    await Deno.mkdir(a);
    await writeFiles(a, 40);
    const port = freePort();
    const first = await startSharer(a, homeA, port);
    await using _first = first.sharer;
    await using joiner = FsyncProcess.start(["--home", homeB, "join", first.invite, b, "--yes"]);
    await joiner.waitFor(/In sync:/);
    assert.deepEqual(filesIn(b), FORTY);
    await first.sharer.stop();

    // The disk is unmounted: the mount point is left, empty.
    await Deno.remove(a, { recursive: true });
    await Deno.mkdir(a);
    const printed = joiner.printed;
    await using sharer = FsyncProcess.start(["--home", homeA, "run", "--listen", `127.0.0.1:${port}`]);
    await sharer.waitFor(/looks unmounted or replaced: marker \.fsyncfolder missing/);
    // The joiner reconnects and pulls the sharer's whole index: it is in sync and keeps everything.
    await joiner.waitFor(/In sync:/, 60_000, printed);
    assert.deepEqual(filesIn(b), FORTY);
    assert.deepEqual(filesIn(a), [], "no peer file fills the mount point");

    const status = await FsyncProcess.run(["--home", homeA, "status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const folder = JSON.parse(status.stdout).folders[0];
    assert.match(folder.problem, /fsync folder rescan --accept-empty/);
    const text = await FsyncProcess.run(["--home", homeA, "status"]);
    assert.match(text.stdout, /looks unmounted or replaced/);

    // The user says the folder really is empty (through the running fsync): the deletion propagates.
    const accepted = await FsyncProcess.run(["--home", homeA, "folder", "rescan", "--accept-empty", folder.id]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /root accepted as it is, 40 changes recorded by the running fsync/);
    await waitCount(b, 0);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a live root replaced by an empty directory (a disk unmounted) is stopped: the joiner keeps every file; the disk back, syncing resumes by itself", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-root-live-" });
  try {
    await using pair = await startLivePair(tmp, (a) => writeFiles(a, 40));
    assert.deepEqual(filesIn(pair.b), FORTY);
    const disk = join(tmp, "disk");
    await Deno.rename(pair.a, disk);
    await Deno.mkdir(pair.a);
    await pair.sharer.waitFor(/looks unmounted or replaced/);
    // A full rescan asked of the running sharer finds it still stopped (75) and deletes nothing.
    const rescan = await FsyncProcess.run(["--home", join(tmp, "home-a"), "folder", "rescan", "a"]);
    assert.equal(rescan.code, 75, rescan.stderr);
    assert.match(rescan.stderr, /^fsync: folder root .* looks unmounted or replaced/m);
    // Time for a deletion to reach the joiner, had one been sent (change latency is ~55 ms).
    await new Promise((r) => setTimeout(r, 2_000));
    assert.deepEqual(filesIn(pair.b), FORTY);
    assert.deepEqual(filesIn(pair.a), []);

    // The disk is mounted again: no command needed, and the watcher follows the new root.
    await Deno.writeTextFile(join(pair.b, "while-away.txt"), "made on b meanwhile\n");
    await Deno.remove(pair.a);
    await Deno.rename(disk, pair.a);
    await pair.sharer.waitFor(/the folder root is back: syncing again/, 20_000);
    await waitContent(join(pair.a, "while-away.txt"), "made on b meanwhile\n");
    await Deno.writeTextFile(join(pair.a, "after.txt"), "made on a after\n");
    await waitContent(join(pair.b, "after.txt"), "made on a after\n", 10_000);
    assert.equal(filesIn(pair.b).length, 42);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a big deletion is held (sync --once exits 75) until confirmed, then propagates", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-bigdel-" });
  const [a, b, homeA, homeB] = ["a", "b", "home-a", "home-b"].map((d) => join(tmp, d));
  try {
    await Deno.mkdir(a);
    await writeFiles(a, 150);
    const { sharer, invite } = await startSharer(a, homeA);
    await using _sharer = sharer;
    const joined = await FsyncProcess.run(["--home", homeB, "join", invite, b, "--yes", "--once"]);
    assert.equal(joined.code, 0, joined.stderr);
    assert.equal(filesIn(b).length, 150);

    // 120 of 150 files deleted on the joiner while it was stopped.
    for (let i = 0; i < 120; i++) await Deno.remove(join(b, `f${i}.txt`));
    const held = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
    assert.equal(held.code, 75, held.stderr);
    assert.match(held.stderr, /120 of 150 files were deleted .*fsync folder confirm-deletes/);
    assert.equal(filesIn(a).length, 150, "the sharer keeps everything");

    // Confirmed with no fsync running on the joiner's home: recorded in its store...
    const confirmed = await FsyncProcess.run(["--home", homeB, "folder", "confirm-deletes", "a"]);
    assert.equal(confirmed.code, 0, confirmed.stderr);
    assert.match(confirmed.stdout, /deletions confirmed, 120 changes recorded in the store/);
    // ... and sent by the next sync.
    const synced = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
    assert.equal(synced.code, 0, synced.stderr);
    await waitCount(a, 30);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
