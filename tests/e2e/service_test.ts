import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess } from "../support/peer.ts";

/** The ExecStart words of a unit (systemd quoting as written by fsync: double quotes, backslash escapes). */
function execStart(unit: string): string[] {
  const line = unit.match(/^ExecStart=(.*)$/m)?.[1];
  assert.ok(line, unit);
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1]?.replace(/\\(.)/g, "$1") ?? m[2]);
}

Deno.test("service install writes a systemd unit whose ExecStart runs this fsync on this home", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-service-" });
  const home = join(tmp, "my home"); // a space: ExecStart must quote it
  try {
    await t.step("--user", async () => {
      const dir = join(tmp, "user-units");
      const r = await FsyncProcess.run(["--home", home, "service", "install", "--user", "--unit-dir", dir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /systemctl --user daemon-reload && systemctl --user enable --now fsync\.service/);
      const unit = await Deno.readTextFile(join(dir, "fsync.service"));
      assert.match(unit, /^Restart=on-failure$/m);
      assert.match(unit, /^WantedBy=default\.target$/m);
      assert.doesNotMatch(unit, /^User=/m);
      const words = execStart(unit);
      assert.deepEqual(words.slice(-3), ["--home", home, "run"]);
      // The same command, asked for the device ID instead of running: it works as written.
      // Started in / as systemd does.
      const id = await new Deno.Command(words[0], { args: [...words.slice(1, -1), "id"], cwd: "/" }).output();
      assert.equal(id.code, 0, new TextDecoder().decode(id.stderr));
      assert.match(new TextDecoder().decode(id.stdout), /^[A-Z2-7]{7}(-[A-Z2-7]{1,7}){7}\n$/);
    });
    await t.step("system unit", async () => {
      const dir = join(tmp, "system-units");
      const r = await FsyncProcess.run(["--home", home, "service", "install", "--unit-dir", dir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /sudo systemctl enable --now fsync\.service/);
      const unit = await Deno.readTextFile(join(dir, "fsync.service"));
      assert.match(unit, /^WantedBy=multi-user\.target$/m);
      assert.match(unit, /^After=network-online\.target$/m);
    });
    await t.step("an unwritable unit directory: 74, one line", async () => {
      await Deno.writeTextFile(join(tmp, "a-file"), "");
      const r = await FsyncProcess.run(["--home", home, "service", "install", "--unit-dir", join(tmp, "a-file")]);
      assert.equal(r.code, 74, r.stderr);
      assert.match(r.stderr.trim(), /^fsync: cannot write .*fsync\.service: [^\n]*$/);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
