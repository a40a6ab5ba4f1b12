import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, FsyncProcess, startSharer } from "../support/peer.ts";
import { waitContent, waitConverged } from "../support/tree.ts";

Deno.test("three devices, star then mesh: B and C keep syncing while A is down, and A catches up from C alone", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-mesh-" });
  try {
    await meshOfThree(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

async function meshOfThree(tmp: string): Promise<void> {
  const [a, b, c] = ["a", "b", "c"].map((d) => join(tmp, d));
  await Deno.mkdir(a);
  await Deno.writeTextFile(join(a, "start.txt"), "from a\n");
  const port = freePort();
  const { sharer, invite } = await startSharer(a, join(tmp, "home-a"), port, ["--invite-uses", "2"]);
  const joiner = (home: string, dir: string) =>
    FsyncProcess.start(["--home", join(tmp, home), "join", invite, dir, "--yes", "--listen", "127.0.0.1:0"]);
  await using _a = sharer;
  await using devB = joiner("home-b", b);
  await devB.waitFor(/In sync:/);
  await using devC = joiner("home-c", c);
  await devC.waitFor(/In sync:/);
  // B and C were introduced by A, and one of them dialled the other.
  await devB.waitFor(/connected to .* at 127\.0\.0\.1:\d+[\s\S]*connected to .* at 127\.0\.0\.1:\d+/);

  await sharer.stop("SIGTERM");
  await Deno.writeTextFile(join(b, "from-b.txt"), "made on b while a is down\n");
  await waitContent(join(c, "from-b.txt"), "made on b while a is down\n");
  await Deno.writeTextFile(join(c, "from-c.txt"), "made on c while a is down\n");
  await waitContent(join(b, "from-c.txt"), "made on c while a is down\n");
  await waitConverged(b, c, "b and c without a");

  // B goes too; A comes back (share again, on another port, so C cannot reach it where it knew it:
  // A must dial C) and catches up from C, which holds B's edit as well.
  await devB.stop("SIGTERM");
  await Deno.writeTextFile(join(c, "late.txt"), "made on c while a and b are down\n");
  const moved = ["--listen", `127.0.0.1:${freePort()}`];
  await using back = FsyncProcess.start(["--home", join(tmp, "home-a"), "share", a, ...moved]);
  await waitConverged(a, c, "a back, from c alone", 60_000);
  assert.equal(await Deno.readTextFile(join(a, "from-b.txt")), "made on b while a is down\n");
  assert.equal(await Deno.readTextFile(join(a, "late.txt")), "made on c while a and b are down\n");

  // `fsync peers` on B lists both others, C as introduced by A.
  await back.stop("SIGTERM");
  const peers = await FsyncProcess.run(["--home", join(tmp, "home-b"), "peers"]);
  assert.equal(peers.code, 0, peers.stderr);
  const lines = peers.stdout.trim().split("\n");
  assert.equal(lines.length, 2, peers.stdout);
  assert.equal(lines.filter((l) => / {2}introduced by \S+$/.test(l)).length, 1, peers.stdout);
}

Deno.test("an introduced device whose address now leads back to the joiner is dialled there once, not again and again", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-mesh-" });
  try {
    const a = join(tmp, "a");
    await Deno.mkdir(a);
    await Deno.writeTextFile(join(a, "start.txt"), "from a\n");
    const { sharer, invite } = await startSharer(a, join(tmp, "home-a"), 0, ["--invite-uses", "2"]);
    await using _a = sharer;
    // B joins listening on a port, and is gone; C then listens on the same port (the same machine
    // a day later, say). A introduces B to C at that address, which now leads to C itself.
    const port = freePort();
    const joinAt = (home: string, dir: string, once: boolean) =>
      FsyncProcess.start([
        "--home",
        join(tmp, home),
        "--log-level",
        "debug",
        "join",
        invite,
        join(tmp, dir),
        "--yes",
        "--listen",
        `127.0.0.1:${port}`,
        ...(once ? ["--once"] : []),
      ]);
    {
      await using devB = joinAt("home-b", "b", true);
      assert.equal(await devB.exit(60_000), 0, devB.log());
    }
    await using devC = joinAt("home-c", "c", false);
    await devC.waitFor(/In sync:/);
    await devC.waitFor(/introduced/);
    // Dialled again and again, attempts would follow at 0.5, 1.5 and 3.5 s.
    await new Promise((r) => setTimeout(r, 3_000));
    const attempts = devC.stderr.split("\n").filter((l) => l.includes(`] 127.0.0.1:${port}`));
    assert.equal(attempts.length, 1, attempts.join("\n"));
    assert.match(
      attempts[0],
      /127\.0\.0\.1:\d+ is this device: not dialled there for 10 minutes, or until the peer's address changes/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a configured peer address that is the device's own is dialled once, not again and again", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-mesh-" });
  try {
    // One config.toml for every machine, listing them all: this one is among its own peers.
    const home = join(tmp, "home");
    const port = freePort();
    await Deno.mkdir(home, { mode: 0o700 });
    await Deno.writeTextFile(join(home, "config.toml"), `peers = ["127.0.0.1:${port}"]\n`);
    await using device = FsyncProcess.start([
      "--home",
      home,
      "--log-level",
      "debug",
      "run",
      "--listen",
      `127.0.0.1:${port}`,
      "--no-discovery",
    ]);
    await device.waitFor(/is this device/);
    // Dialled again and again, attempts would follow at 0.5, 1.5 and 3.5 s.
    await new Promise((r) => setTimeout(r, 3_000));
    const attempts = device.stderr.split("\n").filter((l) => l.includes(` 127.0.0.1:${port}`) && !/listening/.test(l));
    assert.equal(attempts.length, 1, attempts.join("\n"));
    assert.match(attempts[0], /is this device: not dialled there for 10 minutes, or until the peer's address changes/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
