import assert from "node:assert/strict";
import { join } from "node:path";
import { Device } from "../../mod.ts";
import { grantsFor } from "./grants.ts";
import { DENO_FLAGS } from "./permissions.ts";
import { runSandboxed } from "./sandbox.ts";
import { GRACE_MS } from "./bug_trap.ts";

const PROBE = new URL("../../tests/support/sandbox_probe.ts", import.meta.url);

Deno.test("a sandboxed command writes, reads and links only inside its grants, and its exit code comes back", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-sandbox-" });
  try {
    const [inside, outside] = [join(tmp, "inside"), join(tmp, "outside")];
    await Deno.mkdir(inside);
    await Deno.mkdir(outside);
    const code = await runSandboxed(PROBE, [inside, outside], { read: [inside], write: [inside], net: [] });
    assert.equal(code, 3);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(inside, "outcome.json"))), {
      writeInside: "ok",
      writeOutside: "NotCapable",
      readOutside: "NotCapable",
      envPath: "NotCapable",
      envHome: "ok",
      run: "NotCapable",
      symlinkInside: "ok",
      symlinkAgain: "AlreadyExists",
      symlinkOutside: "NotCapable",
      net: "NotCapable",
    });
    assert.equal(await Deno.readLink(join(inside, "link")), "written.txt");
    assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing was made outside");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a bug in a sandboxed command (an unhandled rejection or an uncaught error) is reported once, stops the command, and exits 70, even if it does not stop", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-sandbox-bug-" });
  const grants = { read: [tmp], write: [tmp], net: [] };
  try {
    await t.step("the command stops cleanly: 70", async () => {
      assert.equal(await runSandboxed(PROBE, ["bug", tmp], grants), 70);
      assert.equal(await Deno.readTextFile(join(tmp, "stopped.txt")), "stopped cleanly");
    });
    await t.step(`the command does not stop: 70 after ${GRACE_MS / 1000} s`, async () => {
      const started = Date.now();
      assert.equal(await runSandboxed(PROBE, ["bug-hang", tmp], grants), 70);
      assert.ok(Date.now() - started >= GRACE_MS, `${Date.now() - started} ms`);
    });
    await t.step("an uncaught error thrown in a timer: 70 after a clean stop", async () => {
      await Deno.remove(join(tmp, "stopped.txt"));
      assert.equal(await runSandboxed(PROBE, ["bug-throw", tmp], grants), 70);
      assert.equal(await Deno.readTextFile(join(tmp, "stopped.txt")), "stopped cleanly");
    });
    const reports = (await Deno.readTextFile(join(tmp, "reports.txt"))).split("\n").filter((l) =>
      l.startsWith("fsync:")
    );
    assert.deepEqual(reports, [
      "fsync: internal error (a bug, please report it): Error: a rejection nobody handles",
      "fsync: internal error (a bug, please report it): Error: a rejection nobody handles",
      "fsync: internal error (a bug, please report it): Error: an error nobody catches",
    ]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("grantsFor() gives a command its home and folders, and the network only to commands that talk to peers", async (t) => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "fsync-grants-" }));
  try {
    const home = join(tmp, "home");
    const synced = join(tmp, "synced");
    const configured = join(tmp, "configured");
    await Deno.mkdir(synced);
    const device = await Device.start({ home, watch: false });
    await device.addFolder(synced, "synced");
    await device.close();
    await Deno.writeTextFile(join(home, "config.toml"), `[[folders]]\npath = "${configured}"\nid = "conf"\n`);
    const control = `unix:${join(home, "control.sock")}`;
    const cases = [
      {
        description: "share DIR: the home, its folders, DIR; any host",
        args: ["--home", home, "share", join(tmp, "new")],
        places: [home, synced, configured, join(tmp, "new")],
        net: true,
      },
      {
        description: "join without a directory: the current directory, where the replica is made",
        args: ["--home", home, "join", "127.0.0.1:1"],
        places: [home, synced, configured, Deno.cwd()],
        net: true,
      },
      {
        description: "status: the home and its folders; only the running device's control socket",
        args: ["--home", home, "status"],
        places: [home, synced, configured],
        net: [control],
      },
      {
        description: "service install --unit-dir: that directory too; no network",
        args: ["--home", home, "service", "install", "--unit-dir", join(tmp, "units")],
        places: [home, synced, configured, join(tmp, "units")],
        net: [control],
      },
      {
        description: "bad arguments: nothing (the command only prints them)",
        args: ["--home", home, "no-such-command"],
        places: [],
        net: [],
      },
    ];
    for (const c of cases) {
      await t.step(c.description, async () => {
        const grants = await grantsFor(c.args);
        assert.deepEqual([...grants.write].sort(), [...c.places].sort());
        for (const place of c.places) assert.ok(grants.read.includes(place), place);
        assert.deepEqual(grants.net, c.net);
      });
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the launcher (scripts/fsync) runs with exactly the sandbox's process rights, on a frozen lock", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(
    config.lock?.frozen,
    true,
    "a changed dependency must be an explicit step (deno install --frozen=false)",
  );
  const launcher = await Deno.readTextFile(new URL("../../scripts/fsync", import.meta.url));
  const run = launcher.slice(launcher.indexOf('exec "$deno" run')).replaceAll("\\\n", " ");
  const flags = run.match(/--config "\$repo\/deno.json"\s+(.*?)\s+"\$repo\/cli.ts"/s)?.[1].split(/\s+/);
  assert.deepEqual(flags, [...DENO_FLAGS]);
  assert.match(config.tasks.fsync, /\.\/scripts\/fsync$/, "deno task fsync runs the launcher");
});
