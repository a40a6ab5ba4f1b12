import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, FsyncProcess, startSharer } from "../support/peer.ts";
import { waitContent } from "../support/tree.ts";
import { until } from "../support/wait.ts";

Deno.test("sync --once converges both ways and exits 0; 75 when the home is in use; 69 when the peer is unreachable; run keeps syncing", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-once-" });
  const [a, b, homeA, homeB] = ["a", "b", "home-a", "home-b"].map((d) => join(tmp, d));
  await Deno.mkdir(a);
  await Deno.writeTextFile(join(a, "first.txt"), "first");
  try {
    const { sharer, invite } = await startSharer(a, homeA, 0, ["--log-level", "debug"]);
    await using _sharer = sharer;
    const joined = await FsyncProcess.run(["--home", homeB, "join", invite, b, "--yes", "--once"]);
    assert.equal(joined.code, 0, joined.stderr);

    await t.step("changes made on the joiner while it was stopped reach the sharer before it exits", async () => {
      await Deno.writeTextFile(join(b, "from-b.txt"), "from b");
      const r = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^In sync with .* \(127\.0\.0\.1:\d+\) in [\d.]+ s$/m);
      assert.equal(await Deno.readTextFile(join(a, "from-b.txt")), "from b", "already there when sync exits");
    });

    await t.step("and the sharer's changes reach the joiner", async () => {
      await Deno.writeTextFile(join(a, "from-a.txt"), "from a");
      await sharer.waitFor(/\[a\] 1 local changes/); // recorded by the sharer's watcher
      const r = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await Deno.readTextFile(join(b, "from-a.txt")), "from a");
    });

    await t.step("fsync run keeps syncing with the remembered peer; meanwhile sync --once exits 75", async () => {
      await using runner = FsyncProcess.start(["--home", homeB, "run", "--listen", "127.0.0.1:0"]);
      await runner.waitFor(/listening on 127\.0\.0\.1:\d+/);
      await runner.waitFor(/dialling 1 peer/);
      await Deno.writeTextFile(join(a, "live.txt"), "live");
      await waitContent(join(b, "live.txt"), "live");
      await Deno.writeTextFile(join(b, "live-back.txt"), "back");
      await waitContent(join(a, "live-back.txt"), "back");

      const r = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(r.code, 75, r.stderr);
      assert.match(
        r.stderr.trim(),
        new RegExp(`^fsync: home .* is in use by another fsync process \\(pid ${runner.pid}\\)`),
      );
      await runner.stop();
      assert.equal(await runner.status.then((s) => s.code), 0, "run stops cleanly on SIGTERM");
    });

    await t.step("with the peer gone: 69 and a one-line reason", async () => {
      await sharer.stop();
      const r = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(r.code, 69, r.stderr);
      const errors = r.stderr.trim().split("\n").filter((l) => l.startsWith("fsync:"));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0], /^fsync: could not sync with 127\.0\.0\.1:\d+: /);
      const status = await FsyncProcess.run(["--home", homeB, "status", "--json"]);
      assert.equal(status.code, 0, status.stderr);
      const { running, lastError } = JSON.parse(status.stdout);
      assert.equal(running, false);
      assert.match(
        lastError?.message ?? "",
        /^sync --once: could not sync with 127\.0\.0\.1:\d+: /,
        "status shows why",
      );
    });

    await t.step("peers from config.toml are dialled; --timeout ends a sync that cannot converge with 75", async () => {
      // The sharer's store has no address for the joiner (it dialled in): only the config names it.
      const port = freePort();
      await using runner = FsyncProcess.start([
        "--home",
        homeB,
        "--log-level",
        "debug",
        "run",
        "--listen",
        `127.0.0.1:${port}`,
      ]);
      await runner.waitFor(/listening on/);
      await Deno.writeTextFile(join(homeA, "config.toml"), `peers = ["127.0.0.1:${port}"]\n`);
      await Deno.mkdir(join(a, "d"));
      await Deno.writeTextFile(join(a, "d/f.txt"), "f");
      await Deno.writeTextFile(join(a, "d/.DS_Store"), "ignored: never synced");
      const first = await FsyncProcess.run(["--home", homeA, "sync", "--once"]);
      assert.equal(first.code, 0, first.stderr);
      await waitContent(join(b, "d/f.txt"), "f");
      // The joiner deletes d/; the sharer cannot, as its d/ holds an ignored file: never in sync.
      // The joiner records the deletion once its watcher saw it and its 1 s grace passed.
      const committed = () => runner.stderr.match(/local changes/g)?.length ?? 0;
      const before = committed();
      await Deno.remove(join(b, "d"), { recursive: true });
      await until(() => committed() > before, "the joiner to record the deletion of d/");
      const stuck = await FsyncProcess.run(["--home", homeA, "sync", "--once", "--timeout", "3"]);
      assert.equal(stuck.code, 75, stuck.stderr);
      assert.match(
        stuck.stderr,
        /^fsync: not in sync after 3 s with .* \(127\.0\.0\.1:\d+\) \(run it again, or raise --timeout\)$/m,
      );
      await runner.stop();
    });

    await t.step("a home without peers: 69, saying so", async () => {
      const r = await FsyncProcess.run(["--home", join(tmp, "home-new"), "sync", "--once"]);
      assert.equal(r.code, 69, r.stderr);
      assert.match(r.stderr, /^fsync: no peer to sync with/m);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
