import assert from "node:assert/strict";
import { join } from "node:path";
import { fillPseudoRandom } from "../support/gen_tree.ts";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { waitConverged } from "../support/tree.ts";

const MiB = 1 << 20;
const SIZE = 512 * MiB;

/** Writes a 512 MiB file of pseudo-random bytes (every block distinct), 8 MiB at a time. */
async function writeBigFile(path: string): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  const chunk = new Uint8Array(8 * MiB);
  for (let at = 0; at < SIZE; at += chunk.length) {
    fillPseudoRandom(chunk, 1 + at / chunk.length);
    await file.write(chunk);
  }
}

/** The `bytesSent` to `peerId` that the running fsync of `home` reports for its folder. */
async function sentTo(home: string, peerId: string): Promise<number> {
  const r = await FsyncProcess.run(["--home", home, "status", "--json"]);
  const peer = JSON.parse(r.stdout).folders[0].peers.find((p: { deviceId: string }) => p.deviceId === peerId);
  assert.ok(peer, `${home} shares the folder with ${peerId}:\n${r.stdout}`);
  return peer.bytesSent;
}

/** Size of the temporary file a pull is writing in `dir`, 0 when there is none (or no `dir` yet). */
async function pulledSoFar(dir: string): Promise<number> {
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".fsync-tmp-")) return (await Deno.stat(join(dir, e.name))).size;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return 0;
}

Deno.test("a 512 MiB file pulled by a new device from two seeders: both serve blocks; a seeder killed mid-file is replaced by the other", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-swarm-" });
  try {
    const a = join(tmp, "a");
    await Deno.mkdir(a);
    await writeBigFile(join(a, "big.bin"));
    const home = (d: string) => join(tmp, `home-${d}`);
    const { sharer, invite } = await startSharer(a, home("a"), 0, ["--invite-uses", "3"]);
    await using _a = sharer;
    const join_ = (d: string) =>
      FsyncProcess.start(["--home", home(d), "join", invite, join(tmp, d), "--yes", "--listen", "127.0.0.1:0"]);
    // B becomes the second seeder.
    await using seederB = join_("b");
    await waitConverged(a, join(tmp, "b"), "seeder B", 180_000);

    // C pulls from both.
    {
      await using _c = join_("c");
      await waitConverged(a, join(tmp, "c"), "C from A and B", 180_000);
      const cId = (await FsyncProcess.run(["--home", home("c"), "id"])).stdout.trim();
      const [fromA, fromB] = [await sentTo(home("a"), cId), await sentTo(home("b"), cId)];
      assert.ok(fromA > SIZE / 4 && fromB > SIZE / 4, `A sent ${fromA} B, B sent ${fromB} B to C`);
      assert.ok(fromA + fromB >= SIZE, `together ${fromA + fromB} B`);
    }

    // D pulls from both (at most 40 MiB/s, to leave time to look); a fifth of the way in, B has
    // served it some blocks, and A, whose index D pulls, is killed.
    await using d = FsyncProcess.start([
      ...["--home", home("d"), "--max-recv-kbps", String(40 * 1024), "join", invite, join(tmp, "d")],
      ...["--yes", "--listen", "127.0.0.1:0"],
    ]);
    await d.waitFor(/listening on/);
    const dId = (await FsyncProcess.run(["--home", home("d"), "id"])).stdout.trim();
    const deadline = Date.now() + 120_000;
    while (await pulledSoFar(join(tmp, "d")) < SIZE / 5) {
      assert.ok(Date.now() < deadline, `D never got a fifth of the file:\n${d.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(await sentTo(home("b"), dId) > 0, "B serves D too");
    const killedAt = await pulledSoFar(join(tmp, "d"));
    assert.ok(killedAt < SIZE * 0.9, `still mid-file (${killedAt} B)`);
    await sharer.stop("SIGKILL");
    await waitConverged(join(tmp, "b"), join(tmp, "d"), "D from B alone", 180_000);
    assert.doesNotMatch(d.stderr, /cannot sync big\.bin/, "the file was never given up: B took over its requests");
    assert.ok(seederB.running, "B kept running");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
