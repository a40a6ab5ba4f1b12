import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "smol-toml";
import { freePort, FsyncProcess } from "../support/peer.ts";

/** The lines of a process's standard error that are log lines (not the final error line). */
function logLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l !== "" && !l.startsWith("fsync:"));
}

Deno.test("config.toml: written commented on first use, read on every start, overridden by flags", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-config-" });
  const home = join(tmp, "home");
  const dir = join(tmp, "docs");
  await Deno.mkdir(dir);
  await Deno.writeTextFile(join(dir, "a.txt"), "a");
  try {
    await t.step("a new home gets a template with every setting commented out", async () => {
      const r = await FsyncProcess.run(["--home", home, "id"]);
      assert.equal(r.code, 0, r.stderr);
      const text = await Deno.readTextFile(join(home, "config.toml"));
      for (const key of ["listen", "rescan_interval", "max_send_kbps", "max_recv_kbps", "log_level", "json_logs"]) {
        assert.match(text, new RegExp(`^# ${key} = `, "m"), key);
      }
      assert.deepEqual(Object.keys(parse(text)), [], "nothing is set: the defaults apply");
    });

    const port = freePort();
    await Deno.writeTextFile(
      join(home, "config.toml"),
      `listen = "127.0.0.1:${port}"\nlog_level = "warn"\njson_logs = true\n`,
    );
    await t.step("listen and log level come from the file", async () => {
      await using sharer = FsyncProcess.start(["--home", home, "share", dir]);
      await sharer.waitFor(new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
      await sharer.stop();
      assert.deepEqual(logLines(sharer.stderr), [], "info lines are below the configured level");
    });
    await t.step("flags override the file: --log-level info, JSON lines name their folder", async () => {
      await using sharer = FsyncProcess.start(["--home", home, "--log-level", "info", "share", dir]);
      await sharer.waitFor(/listening on/);
      await sharer.stop();
      const lines = logLines(sharer.stderr).map((l) => JSON.parse(l));
      const scanned = lines.find((l) => / scanned: /.test(l.msg));
      assert.ok(scanned, sharer.stderr);
      assert.equal(scanned.level, "info");
      assert.equal(scanned.folder, "docs");
      assert.ok(!Number.isNaN(Date.parse(scanned.time)));
    });
    await t.step("--no-json-logs and --listen override the file", async () => {
      await using sharer = FsyncProcess.start([
        "--home",
        home,
        "--log-level",
        "debug",
        "--no-json-logs",
        "share",
        dir,
        "--listen",
        "127.0.0.1:0",
      ]);
      const m = await sharer.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
      assert.notEqual(Number(m[1]), port);
      await sharer.stop();
      assert.match(sharer.stderr, /^\d\d:\d\d:\d\d info {2}\[docs\] .* scanned: /m);
    });
    await t.step("an invalid file is a one-line error with exit code 78", async () => {
      for (
        const [text, message] of [
          ["listen = 5\n", /listen must be a "host:port" string/],
          ['log_levl = "info"\n', /unknown setting "log_levl"/],
          ["max_send_kbps = -1\n", /max_send_kbps must be a whole number/],
          ['[[folders]]\npath = "/x"\nmode = "both"\n', /folders\[0\]\.mode must be one of/],
          ["listen = \n", /config .*config\.toml: /],
        ] as const
      ) {
        await Deno.writeTextFile(join(home, "config.toml"), text);
        const r = await FsyncProcess.run(["--home", home, "id"]);
        assert.equal(r.code, 78, `${text}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
        assert.match(r.stderr, message);
      }
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
