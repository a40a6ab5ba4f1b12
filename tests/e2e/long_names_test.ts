import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, FsyncProcess, startSharer } from "../support/peer.ts";
import { waitConverged } from "../support/tree.ts";

const bytes = (s: string) => new TextEncoder().encode(s).length;

Deno.test("a 255-byte name edited on both sides while apart converges, the losing edit kept under a name that fits", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-long-name-" });
  try {
    const a = join(tmp, "a");
    const b = join(tmp, "b");
    await Deno.mkdir(a);
    // 255 bytes of three-byte characters and ASCII: the conflict copy's name must be cut.
    const name = "é".repeat(41) + "€".repeat(55) + "x".repeat(4) + ".txt";
    assert.equal(bytes(name), 255);
    await Deno.writeTextFile(join(a, name), "v1\n");
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
    // Both stopped: b's edit is later, so a's becomes the conflict copy.
    await Deno.writeTextFile(join(a, name), "edited on a, earlier\n");
    await Deno.utime(join(a, name), new Date("2030-01-01T00:00:00Z"), new Date("2030-01-01T00:00:00Z"));
    await Deno.writeTextFile(join(b, name), "edited on b, later\n");
    await Deno.utime(join(b, name), new Date("2030-01-02T00:00:00Z"), new Date("2030-01-02T00:00:00Z"));

    const { sharer } = await startSharer(a, join(tmp, "home-a"), port);
    await using _a = sharer;
    await using joiner = FsyncProcess.start(joinArgs);
    try {
      await waitConverged(a, b, "after the restart", 45_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${sharer.log()}\n${joiner.log()}`, { cause: e });
    }
    assert.equal(await Deno.readTextFile(join(a, name)), "edited on b, later\n");
    const copies = [...Deno.readDirSync(a)].map((e) => e.name).filter((n) => n.includes(".sync-conflict-"));
    assert.equal(copies.length, 1, `one conflict copy: ${copies}`);
    assert.match(copies[0], /^é{41}€{43}\.sync-conflict-\d{8}-\d{6}-[A-Z2-7]{7}\.txt$/);
    assert.ok(bytes(copies[0]) <= 255);
    assert.equal(await Deno.readTextFile(join(a, copies[0])), "edited on a, earlier\n");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
