import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DENO_RUN_FLAGS, FsyncProcess, startSharer } from "../support/peer.ts";

const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));

/** Whether this test process may run a command as another user (root, with util-linux's setpriv). */
function canRunAsAnotherUser(): boolean {
  if (Deno.uid() !== 0) return false;
  try {
    return new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

Deno.test("share makes a home other users could enter private: the home 0700, every file in it 0600", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-home-" });
  try {
    const [home, dir] = [join(tmp, "home"), join(tmp, "dir")];
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "a.txt"), "a");
    // A home made by hand, as a user's umask leaves it.
    await Deno.mkdir(home);
    await Deno.chmod(home, 0o755);
    await Deno.writeTextFile(join(home, "config.toml"), "# mine\n");
    await Deno.chmod(join(home, "config.toml"), 0o644);
    const { sharer } = await startSharer(dir, home);
    await using _ = sharer;
    assert.match(sharer.stderr, /home .* was open to other users \(mode 0755\): made it 0700/);
    assert.equal((await Deno.stat(home)).mode! & 0o777, 0o700);
    const modes: Record<string, string> = {};
    for await (const entry of Deno.readDir(home)) {
      modes[entry.name] = ((await Deno.lstat(join(home, entry.name))).mode! & 0o777).toString(8);
    }
    const expected = ["cert.pem", "config.toml", "control.sock", "index.kv", "index.kv-shm", "index.kv-wal"]
      .concat(["key.pem", "lock"]);
    assert.deepEqual(Object.keys(modes).sort(), expected, sharer.log());
    assert.deepEqual(modes, Object.fromEntries(expected.map((name) => [name, "600"])));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test({
  name: "status and peers run by another user are a one-line error with exit code 74 (local IO)",
  ignore: !canRunAsAnotherUser(),
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-home-other-" });
    try {
      await Deno.chmod(tmp, 0o755); // the other user may reach the home, not enter it
      const home = join(tmp, "home");
      const made = await FsyncProcess.run(["--home", home, "id"]);
      assert.equal(made.code, 0, made.stderr);
      // The other user's own Deno cache (the project's npm packages are in its node_modules).
      const denoDir = join(tmp, "deno-dir");
      await Deno.mkdir(denoDir);
      await Deno.chmod(denoDir, 0o777);
      const runs = [
        { command: "status", layout: "private" },
        { command: "peers", layout: "private" },
        { command: "status", layout: "as an older fsync left it: 0755, files 0644" },
        { command: "peers", layout: "as an older fsync left it: 0755, files 0644" },
      ];
      for (const { command, layout } of runs) {
        if (layout !== "private") {
          await Deno.chmod(home, 0o755);
          for await (const e of Deno.readDir(home)) await Deno.chmod(join(home, e.name), 0o644);
        }
        const out = await new Deno.Command("setpriv", {
          args: [
            ...["--reuid=65534", "--regid=65534", "--clear-groups"],
            ...["env", `DENO_DIR=${denoDir}`, "NO_COLOR=1", "HOME=/nonexistent"],
            ...[Deno.execPath(), ...DENO_RUN_FLAGS, CLI, "--home", home, command],
          ],
          cwd: tmp,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 74, `${command}, home ${layout}: ${stderr}`);
        assert.equal(new TextDecoder().decode(out.stdout), "");
        assert.match(
          stderr,
          /^fsync: cannot use home .*: (Permission denied|Operation not permitted) .*\(run fsync as the user who owns the home/,
        );
        assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
