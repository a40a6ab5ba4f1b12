import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { until } from "../support/wait.ts";

const REPO = fromFileUrl(new URL("../../", import.meta.url)).replace(/\/$/, "");
const SCRIPTS_DENO = join(REPO, "scripts/deno");

/** Deno's cache directory as this test process sees it (a changed HOME would move the default). */
const DENO_DIR: string = JSON.parse(
  new TextDecoder().decode(new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).outputSync().stdout),
).denoDir;

/**
 * The environment of a bare shell: only the given variables, Deno's cache, and the CA, proxy and
 * registry settings reaching the npm registry may need (no PATH unless given).
 */
function bareEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { DENO_DIR };
  const network = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"];
  for (
    const key of [
      "SSL_CERT_FILE",
      "SSL_CERT_DIR",
      "NODE_EXTRA_CA_CERTS",
      "DENO_CERT",
      "NPM_CONFIG_REGISTRY",
      ...network,
    ]
  ) {
    const value = Deno.env.get(key);
    if (value !== undefined) env[key] = value;
  }
  return { ...env, PATH: "", ...extra };
}

/** The lines of `stderr` but deno task's banner, without colour codes. */
function ownLines(stderr: string): string[] {
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  return plain.split("\n").filter((l) => l && !l.startsWith("Task "));
}

async function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; clearEnv?: boolean },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", ...options }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("paths on the command line are where the user stands: `scripts/deno task fsync` from another directory", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-cwd-" });
  const sharerCwd = join(tmp, "here");
  const joinerCwd = join(tmp, "there");
  await Deno.mkdir(join(sharerCwd, "model"), { recursive: true });
  await Deno.mkdir(joinerCwd);
  await Deno.writeTextFile(join(sharerCwd, "model/a.txt"), "hello");
  const sharer = new Deno.Command(SCRIPTS_DENO, {
    args: ["task", "fsync", "share", "./model", "--listen", "127.0.0.1:0", "--home", "./home-a"],
    cwd: sharerCwd,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reading = (async () => {
    for await (const chunk of sharer.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  const errors = new Response(sharer.stderr).text();
  try {
    await until(() => /fsync:\/\/\S+/.test(out), "the sharer to print an invite", 30_000);
    assert.match(
      out,
      new RegExp(`from ${join(sharerCwd, "model")}\\n`),
      "the folder is the one in the user's directory",
    );
    const invite = out.match(/fsync:\/\/\S+/)![0];
    const joined = await run(SCRIPTS_DENO, ["task", "fsync", "join", invite, "--yes", "--once", "--home", "home-b"], {
      cwd: joinerCwd,
    });
    assert.equal(joined.code, 0, joined.stderr);
    assert.equal(
      await Deno.readTextFile(join(joinerCwd, "model/a.txt")),
      "hello",
      "the replica is made where the user stands",
    );
    assert.ok((await Deno.stat(join(joinerCwd, "home-b"))).isDirectory, "a relative --home is the user's too");
    assert.doesNotMatch(joined.stderr, /Task fsync/, "no deno task banner");
  } finally {
    sharer.kill("SIGTERM");
    await sharer.status;
    await reading;
    await errors;
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("`deno task install` puts a launcher on the PATH that works from any directory with a bare PATH", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-install-" });
  try {
    // An INIT_CWD inherited from an outer task (as when the suite runs under deno task) is not where the user stands.
    const outer = { INIT_CWD: REPO };
    const installed = await run(SCRIPTS_DENO, ["task", "install", "--prefix", "bin"], { cwd: tmp, env: outer });
    assert.equal(installed.code, 0, installed.stderr);
    const launcher = join(tmp, "bin/fsync");
    assert.match(installed.stdout, new RegExp(`installed ${launcher}`), "a relative --prefix is the user's");
    assert.match(installed.stdout, /is not on your PATH/);
    const work = join(tmp, "work");
    await Deno.mkdir(work);
    const env = bareEnv({ PATH: join(tmp, "bin"), HOME: join(tmp, "home") });
    const version = await run("fsync", ["--version"], { cwd: work, env, clearEnv: true });
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal(version.stderr, "");
    const id = await run(launcher, ["id", "--home", "h"], { cwd: work, env, clearEnv: true });
    assert.equal(id.code, 0, id.stderr);
    assert.match(id.stdout, /^([A-Z2-7]{7}-){7}[A-Z2-7]{3}\n$/);
    assert.ok((await Deno.stat(join(work, "h"))).isDirectory, "the launcher runs in the user's directory");

    await Deno.writeTextFile(launcher, "#!/bin/sh\necho someone else's fsync\n");
    const refused = await run(SCRIPTS_DENO, ["task", "install", "--prefix", "bin"], { cwd: tmp });
    assert.equal(refused.code, 73);
    assert.match(refused.stderr, /exists and is not an fsync launcher.*--force/);
    assert.match(await Deno.readTextFile(launcher), /someone else's/, "another program's file is left alone");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a first run with an empty DENO_DIR says in one line that it fetches dependencies, and nothing else", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-first-" });
  try {
    // A copy of the repository with no node_modules, as a fresh clone has, and the installed Deno.
    const repo = join(tmp, "repo");
    await Deno.mkdir(join(repo, "scripts"), { recursive: true });
    for (const file of ["deno.json", "deno.lock", "cli.ts", "mod.ts", "scripts/fsync"]) {
      await Deno.copyFile(join(REPO, file), join(repo, file));
    }
    await copyTree(join(REPO, "lib"), join(repo, "lib"));
    await Deno.symlink(join(REPO, "scripts/toolchain"), join(repo, "scripts/toolchain"));
    const env = bareEnv({ HOME: join(tmp, "home"), DENO_DIR: join(tmp, "deno-dir") });
    const first = await run(join(repo, "scripts/fsync"), ["--version"], { cwd: tmp, env, clearEnv: true });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, "fsync: fetching dependencies from the npm registry (one time)...\n");
    assert.match(first.stdout, /^\d+\.\d+\.\d+\n$/);
    const second = await run(join(repo, "scripts/fsync"), ["--version"], { cwd: tmp, env, clearEnv: true });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stderr, "", "later runs are silent");

    // A registry that cannot be reached: the fetch's own output, then one line of fsync's, exit 69.
    const unreachable = { ...env, DENO_DIR: join(tmp, "deno-dir-2"), NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/" };
    await Deno.remove(join(repo, "node_modules"), { recursive: true });
    const failed = await run(join(repo, "scripts/fsync"), ["--version"], {
      cwd: tmp,
      env: unreachable,
      clearEnv: true,
    });
    assert.equal(failed.code, 69, failed.stderr);
    const lines = failed.stderr.trimEnd().split("\n");
    assert.equal(lines[0], "fsync: fetching dependencies from the npm registry (one time)...");
    assert.match(lines.at(-1)!, /^fsync: could not fetch the dependencies pinned in .*deno\.lock \(see above\)$/);
    assert.equal(failed.stdout, "");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const [a, b] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory) await copyTree(a, b);
    else if (entry.isFile) await Deno.copyFile(a, b);
  }
}

Deno.test("`deno task compile` without a runtime says in one line what it needs, and leaves no dist/", async (t) => {
  const dist = join(REPO, "dist");
  const hadDist = await Deno.stat(dist).then(() => true, () => false);
  await t.step("DENORT_BIN naming no file", async () => {
    const out = await run(SCRIPTS_DENO, ["task", "compile"], { cwd: REPO, env: { DENORT_BIN: "/nonexistent/denort" } });
    assert.equal(out.code, 66);
    const lines = ownLines(out.stderr);
    assert.deepEqual(lines, [
      "fsync: DENORT_BIN names /nonexistent/denort, which does not exist (it must be the unzipped denort runtime)",
    ]);
  });
  await t.step("no DENORT_BIN: built, or one line naming DENORT_BIN", async () => {
    const out = await run(SCRIPTS_DENO, ["task", "compile"], { cwd: REPO });
    if (out.code === 0) return; // Deno's download host was reachable: dist/fsync was built
    assert.equal(out.code, 69, out.stderr);
    const lines = ownLines(out.stderr);
    assert.equal(lines.length, 1, out.stderr);
    assert.match(lines[0], /^fsync: deno compile needs Deno's runtime .* DENORT_BIN=\/path\/to\/denort/);
    if (!hadDist) assert.equal(await Deno.stat(dist).then(() => true, () => false), false, "no empty dist/ left");
  });
});
