import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, FsyncProcess, receivedBytes, startSharer } from "../support/peer.ts";
import { waitConverged } from "../support/tree.ts";

Deno.test("changes made on both sides while both were stopped converge after restart, conflicts kept", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-offline-" });
  try {
    const a = join(tmp, "a");
    const b = join(tmp, "b");
    await Deno.mkdir(a);
    for (
      const name of ["shared.txt", "other-way.txt", "edit-vs-delete.txt", "delete-me.txt", "rename-me.txt", "keep.txt"]
    ) {
      await Deno.writeTextFile(join(a, name), `${name} v1\n`);
    }
    await Deno.writeFile(join(a, "big-unchanged.bin"), new Uint8Array(2 << 20).map((_, i) => i % 253));
    const port = freePort();
    let joinArgs: string[];
    {
      const { sharer, invite } = await startSharer(a, join(tmp, "home-a"), port);
      joinArgs = ["--home", join(tmp, "home-b"), "join", invite, b, "--yes"];
      await using _a = sharer;
      await using joiner = FsyncProcess.start(joinArgs);
      await joiner.waitFor(/In sync:/);
      await waitConverged(a, b, "first sync");
      await joiner.stop("SIGTERM");
      await sharer.stop("SIGTERM");
    }
    // Both stopped: a conflicting edit (b's is later), a delete on b, a rename on a, ...
    await Deno.writeTextFile(join(a, "shared.txt"), "edited on a, earlier\n");
    await Deno.utime(join(a, "shared.txt"), new Date("2030-01-01T00:00:00Z"), new Date("2030-01-01T00:00:00Z"));
    await Deno.writeTextFile(join(b, "shared.txt"), "edited on b, later\n");
    await Deno.utime(join(b, "shared.txt"), new Date("2030-01-02T00:00:00Z"), new Date("2030-01-02T00:00:00Z"));
    await Deno.remove(join(b, "delete-me.txt"));
    // The other way round: a's edit is later, so b's is the copy.
    await Deno.writeTextFile(join(a, "other-way.txt"), "edited on a, later\n");
    await Deno.utime(join(a, "other-way.txt"), new Date("2030-01-02T00:00:00Z"), new Date("2030-01-02T00:00:00Z"));
    await Deno.writeTextFile(join(b, "other-way.txt"), "edited on b, earlier\n");
    await Deno.utime(join(b, "other-way.txt"), new Date("2030-01-01T00:00:00Z"), new Date("2030-01-01T00:00:00Z"));
    // A delete concurrent with an edit loses to the edit, on both sides.
    await Deno.writeTextFile(join(b, "edit-vs-delete.txt"), "edited on b\n");
    await Deno.remove(join(a, "edit-vs-delete.txt"));
    await Deno.rename(join(a, "rename-me.txt"), join(a, "renamed.txt"));

    const { sharer } = await startSharer(a, join(tmp, "home-a"), port);
    await using _a = sharer;
    await using joiner = FsyncProcess.start(joinArgs);
    await waitConverged(a, b, "after the restart");
    // Only what changed got new versions at start (a: 2 edits, 1 delete, a rename; b: 3 edits, 1 delete)...
    assert.match(sharer.stderr, /\[a\] .* scanned: 5 changes/);
    assert.match(joiner.stderr, /\[a\] .* scanned: 4 changes/);
    // ... and only changed content crossed the wire (the 2 MiB file and the renamed one stayed put).
    await joiner.waitFor(/In sync:/);
    const received = receivedBytes(joiner);
    assert.ok(received < 64 * 1024, `received ${received} bytes after the restart`);
    assert.equal(await Deno.readTextFile(join(a, "shared.txt")), "edited on b, later\n");
    assert.equal(await Deno.readTextFile(join(a, "other-way.txt")), "edited on a, later\n");
    assert.equal(await Deno.readTextFile(join(a, "edit-vs-delete.txt")), "edited on b\n");
    const names = [...Deno.readDirSync(a)].map((e) => e.name).sort();
    const copy = names.find((n) => /^shared\.sync-conflict-\d{8}-\d{6}-\w+\.txt$/.test(n));
    assert.ok(copy, `a conflict copy of a's edit in ${names}`);
    assert.equal(await Deno.readTextFile(join(a, copy)), "edited on a, earlier\n");
    const otherCopy = names.find((n) => /^other-way\.sync-conflict-\d{8}-\d{6}-\w+\.txt$/.test(n));
    assert.ok(otherCopy, `a conflict copy of b's edit in ${names}`);
    assert.equal(await Deno.readTextFile(join(a, otherCopy)), "edited on b, earlier\n");
    assert.deepEqual(
      names.filter((n) => n !== copy && n !== otherCopy),
      [
        ".fsyncfolder",
        "big-unchanged.bin",
        "edit-vs-delete.txt",
        "keep.txt",
        "other-way.txt",
        "renamed.txt",
        "shared.txt",
      ],
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
