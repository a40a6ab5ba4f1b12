// deno-lint-ignore-file no-console -- a skipped test says why
import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess } from "../support/peer.ts";
import { VethPair } from "../support/netns.ts";
import { waitContent } from "../support/tree.ts";

Deno.test("local discovery: two devices whose addresses both changed find each other by announcements alone; an untrusted device's announcements lead nowhere", async () => {
  const lan = await VethPair.create();
  if (typeof lan === "string") {
    console.log(`skipped: ${lan}`);
    return;
  }
  await using _lan = lan;
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-discovery-" });
  try {
    const [nsA, nsB] = lan.names;
    const [a, b] = [join(tmp, "a"), join(tmp, "b")];
    await Deno.mkdir(a);
    await Deno.writeTextFile(join(a, "first.txt"), "before the move\n");
    const home = (d: string) => join(tmp, `home-${d}`);
    {
      // A shares from its namespace (its invite names its LAN address), B joins from the other.
      await using sharer = FsyncProcess.start(["--home", home("a"), "share", a], { netns: nsA });
      const invite = (await sharer.waitFor(/fsync join (fsync:\/\/\S+)/, 60_000))[1];
      assert.match(invite, new RegExp(`^fsync://${lan.subnet.replaceAll(".", "\\.")}\\.1:50051/`));
      await using joiner = FsyncProcess.start(["--home", home("b"), "join", invite, b, "--yes"], { netns: nsB });
      await joiner.waitFor(/In sync:/);
      await joiner.stop("SIGTERM");
      await sharer.stop("SIGTERM");
    }
    // Both move: neither is where the other remembers it, so only announcements can bring them together.
    await lan.readdress(0, 1, 4);
    await lan.readdress(1, 2, 3);
    await using devA = FsyncProcess.start(["--home", home("a"), "--log-level", "debug", "run"], { netns: nsA });
    await devA.waitFor(/listening on 0\.0\.0\.0:50051/);
    await using devB = FsyncProcess.start(["--home", home("b"), "run"], { netns: nsB });
    await devA.waitFor(new RegExp(`announced itself at ${lan.subnet.replaceAll(".", "\\.")}\\.3:50051`), 30_000);
    await Deno.writeTextFile(join(a, "after.txt"), "found again\n");
    await waitContent(join(b, "after.txt"), "found again\n", 45_000);

    // A device A does not trust announces itself in B's network: A ignores it and never dials it.
    await using stranger = FsyncProcess.start(["--home", home("c"), "run", "--listen", "0.0.0.0:50052"], {
      netns: nsB,
    });
    await stranger.waitFor(/listening on/);
    const strangerId = (await FsyncProcess.run(["--home", home("c"), "id"])).stdout.trim();
    assert.match(strangerId, /^[A-Z2-7]{7}(-[A-Z2-7]{7}){6}-[A-Z2-7]{3}$/, "fsync id prints the ID");
    await devA.waitFor(new RegExp(`ignored the announcement of ${strangerId}`), 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.doesNotMatch(devA.stderr, new RegExp(`connected to .*\\(${strangerId}\\)`));
    assert.doesNotMatch(stranger.stderr, /connected to/);
    await stranger.stop("SIGTERM");

    // --no-discovery: the stranger, started again, neither announces itself nor listens for announcements.
    const ignored = (devA.stderr.match(/ignored the announcement/g) ?? []).length;
    await using quiet = FsyncProcess.start(
      ["--home", home("c"), "run", "--listen", "0.0.0.0:50052", "--no-discovery"],
      {
        netns: nsB,
      },
    );
    await quiet.waitFor(/listening on/);
    await new Promise((r) => setTimeout(r, 2_000));
    assert.doesNotMatch(quiet.stderr, /local discovery/);
    assert.match(devB.stderr, /local discovery: announcing this device on UDP port 21051/);
    assert.equal((devA.stderr.match(/ignored the announcement/g) ?? []).length, ignored, "no announcement came");
    await Promise.all([devA.stop("SIGTERM"), devB.stop("SIGTERM"), quiet.stop("SIGTERM")]);
    const peers = await FsyncProcess.run(["--home", home("a"), "peers"]);
    assert.doesNotMatch(peers.stdout, new RegExp(strangerId), "the stranger is not even known");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
