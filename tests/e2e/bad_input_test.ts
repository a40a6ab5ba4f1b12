import assert from "node:assert/strict";
import { join } from "node:path";
import { Device } from "../../mod.ts";
import { freePort, FsyncProcess, startSharer } from "../support/peer.ts";

/** Runs fsync and checks it failed with `code` and a single-line message matching `message`. */
async function expectFailure(args: string[], code: number, message: RegExp, cwd?: string): Promise<void> {
  const r = await FsyncProcess.run(args, 60_000, { cwd });
  assert.equal(r.code, code, `exit code of fsync ${args.join(" ")}\n${r.stdout}${r.stderr}`);
  const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("fsync:") || l.startsWith("error:"));
  assert.equal(lines.length, 1, `one error line expected:\n${r.stderr}`);
  assert.match(lines[0], message);
}

Deno.test("bad input gives a one-line error and the right exit code", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-bad-" });
  const home = join(tmp, "home");
  try {
    await Deno.writeTextFile(join(tmp, "a-file"), "not a directory");
    await t.step(
      "share a missing folder: 74",
      () =>
        expectFailure(["--home", home, "share", join(tmp, "missing"), "--listen", "127.0.0.1:0"], 74, /does not exist/),
    );
    await t.step(
      "share a file: 74",
      () =>
        expectFailure(["--home", home, "share", join(tmp, "a-file"), "--listen", "127.0.0.1:0"], 74, /not a directory/),
    );
    await t.step("malformed addresses: 2", async () => {
      for (const address of ["127.0.0.1:99999", "a:b:c", "", "host:port"]) {
        await expectFailure(["--home", home, "join", address, join(tmp, "x"), "--once"], 2, /invalid address|argument/);
      }
      await expectFailure(["--home", home, "share", tmp, "--listen", "nope:-1"], 2, /invalid address|argument/);
    });
    await t.step("unknown flag: 2", () => expectFailure(["--home", home, "join", "--bogus"], 2, /unknown option/));
    await t.step("--home naming a file: 2, naming --home", async () => {
      const file = join(tmp, "a-file");
      for (const args of [["status"], ["share", tmp, "--listen", "127.0.0.1:0"], ["peers"]]) {
        await expectFailure(["--home", file, ...args], 2, /^fsync: --home .*a-file is not a directory/);
      }
    });
    await t.step("reading a home that does not exist writes nothing", async () => {
      const empty = join(tmp, "home-none");
      await expectFailure(["--home", empty, "status"], 2, /no fsync state/);
      for (const args of [["peers"], ["conflicts"], ["folder", "rescan", "x"]]) {
        await expectFailure(["--home", empty, ...args], 2, /no fsync state/);
      }
      await assert.rejects(Deno.stat(empty), Deno.errors.NotFound, "no home, no config.toml");
    });
    await t.step("empty XDG_STATE_HOME and XDG_CONFIG_HOME count as unset", async () => {
      const user = join(tmp, "user");
      const cwd = join(tmp, "cwd");
      await Deno.mkdir(cwd, { recursive: true });
      const env = { HOME: user, XDG_STATE_HOME: "", XDG_CONFIG_HOME: "" };
      const id = await FsyncProcess.run(["id"], 60_000, { cwd, env });
      assert.equal(id.code, 0, id.stderr);
      assert.ok((await Deno.stat(join(user, ".local/state/fsync"))).isDirectory, "the default home");
      const unit = await FsyncProcess.run(["service", "install", "--user"], 60_000, { cwd, env });
      assert.equal(unit.code, 0, unit.stderr);
      assert.ok((await Deno.stat(join(user, ".config/systemd/user/fsync.service"))).isFile);
      assert.deepEqual([...Deno.readDirSync(cwd)], [], "nothing written where the command ran");
    });
    await t.step("unreachable peer: 69, and no folder is created", async () => {
      await expectFailure(
        ["--home", home, "join", `127.0.0.1:${freePort()}`, join(tmp, "never"), "--once"],
        69,
        /cannot reach peer 127\.0\.0\.1:\d+: connection refused/,
      );
      await assert.rejects(Deno.stat(join(tmp, "never")), Deno.errors.NotFound);
    });
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    await Deno.writeTextFile(join(src, "hello.txt"), "hello\n");
    const { sharer, port, invite } = await startSharer(src, join(tmp, "home-sharer"), 0, ["--invite-uses", "5"]);
    await using _ = sharer;
    await t.step("port in use: 69, and the failed share leaves no trace", async () => {
      await expectFailure(
        ["--home", join(tmp, "home-2"), "share", src, "--listen", `127.0.0.1:${port}`],
        69,
        /port \d+ is in use/,
      );
      await assert.rejects(Deno.stat(join(tmp, "home-2")), Deno.errors.NotFound, "the home it made is gone");
      const existing = join(tmp, "home-existing");
      assert.equal((await FsyncProcess.run(["--home", existing, "id"])).code, 0);
      await expectFailure(["--home", existing, "share", src, "--listen", `127.0.0.1:${port}`], 69, /is in use/);
      const status = await FsyncProcess.run(["--home", existing, "status", "--json"]);
      assert.deepEqual(JSON.parse(status.stdout).folders, [], "no folder registered by the failed share");
    });
    await t.step(
      "home in use by another fsync: 75",
      () =>
        expectFailure(
          ["--home", join(tmp, "home-sharer"), "sync", "--once"],
          75,
          /in use by another fsync process \(pid \d+\)/,
        ),
    );
    await t.step("no terminal and no --yes: refuses (2), writes nothing", async () => {
      await expectFailure(
        ["--home", join(tmp, "home-3"), "join", invite, join(tmp, "replica"), "--once"],
        2,
        /no terminal to confirm/,
      );
      await assert.rejects(Deno.stat(join(tmp, "replica")), Deno.errors.NotFound);
    });
    await t.step("replica path that is a file: 74", () =>
      expectFailure(
        ["--home", join(tmp, "home-4"), "join", invite, join(tmp, "a-file"), "--yes", "--once"],
        74,
        /cannot create .*a-file/,
      ));
    await t.step("replica path that already holds another folder: 2", async () => {
      const other = join(tmp, "other");
      await Deno.mkdir(other);
      const home = join(tmp, "home-5");
      const device = await Device.start({ home });
      await device.addFolder(other, "other"); // the directory already replicates a folder of its own
      await device.close();
      await expectFailure(
        ["--home", home, "join", invite, other, "--yes", "--once"],
        2,
        /already holds another folder/,
      );
    });
    assert.equal(await Deno.readTextFile(join(tmp, "a-file")), "not a directory");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
