/**
 * Proves the CLI is self-contained (what `deno compile` would need): bundles cli.ts, runs the
 * bundle from a folder with no deno.json above it, with an empty DENO_DIR and no network or
 * npm access, and syncs a folder between two such processes. `deno compile` itself cannot
 * fetch its runtime on this machine (DENO-FACTS §7).
 */
// deno-lint-ignore-file no-console -- a check that reports to the person or CI running it
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DENO_FLAGS } from "../lib/cli/permissions.ts";
import { generateTree } from "../tests/support/gen_tree.ts";
import { diffTrees, snapshotTree } from "../tests/support/tree.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const tmp = await Deno.makeTempDir({ prefix: "fsync-bundle-" });

async function run(args: string[], cwd: string, env: Record<string, string>): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), { args, cwd, env, stdout: "piped", stderr: "piped" }).output();
}

try {
  const bundle = join(tmp, "fsync.bundle.js");
  const built = await run(["bundle", "--quiet", "--platform", "deno", "-o", bundle, "cli.ts"], ROOT, {});
  assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
  const text = await Deno.readTextFile(bundle);
  const imports = [...text.matchAll(/^import\s(?:[^"';]*?\sfrom\s)?["']([^"']+)["']/gm)].map((m) => m[1]);
  assert.ok(imports.length > 0, "the bundle's top-level imports were found");
  const foreign = imports.filter((s) => !s.startsWith("node:"));
  assert.deepEqual(foreign, [], "the bundle imports only node: built-ins");

  const away = join(tmp, "elsewhere");
  await Deno.mkdir(away);
  const env = { DENO_DIR: join(tmp, "empty-deno-dir"), NO_COLOR: "1" };
  const deno = [
    "run",
    ...DENO_FLAGS,
    "--no-config",
    "--no-remote",
    "--no-npm",
    "--cached-only",
    bundle,
  ];
  const help = await run([...deno, "--help"], away, env);
  assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
  assert.match(new TextDecoder().decode(help.stdout), /Usage: fsync/);

  const src = join(away, "src");
  await Deno.mkdir(src);
  await generateTree(src, { smallFiles: 100, maxSmallBytes: 4096, largeFiles: [3 * 1024 * 1024], seed: 9 });
  const sharer = new Deno.Command(Deno.execPath(), {
    args: [...deno, "--home", join(away, "home-a"), "share", src, "--listen", "127.0.0.1:0"],
    cwd: away,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = sharer.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    let invite: string | undefined;
    while (!invite) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the bundled sharer exited:\n${out}`);
      out += value;
      invite = out.match(/fsync join (fsync:\/\/\S+)/)?.[1];
    }
    reader.releaseLock();
    const joined = await run(
      [...deno, "--home", join(away, "home-b"), "join", invite, join(away, "dst"), "--yes", "--once"],
      away,
      env,
    );
    assert.equal(joined.code, 0, new TextDecoder().decode(joined.stderr));
    assert.deepEqual(diffTrees(await snapshotTree(src), await snapshotTree(join(away, "dst"))), []);
  } finally {
    sharer.kill("SIGTERM");
    await sharer.status;
    await sharer.stdout.cancel().catch(() => {/* already read to the end */});
  }
  console.log(`bundle-check: ok (${(await Deno.stat(bundle)).size} bytes, synced a folder from ${away})`);
} finally {
  await Deno.remove(tmp, { recursive: true });
}
