/**
 * `deno task install [--prefix DIR] [--force]`: puts an `fsync` command on the PATH, a launcher
 * in DIR (default `~/.local/bin`) that runs this repository's `scripts/fsync` (the pinned Deno,
 * the executable's rights, the user's working directory) from any directory and any shell. It
 * fetches the dependencies now, so the first command starts at once. A file of the same name
 * that this did not write is left alone unless `--force`.
 *
 * Exit codes: 0 installed; 2 bad arguments; 73 the launcher cannot be written; 69 the
 * dependencies cannot be fetched.
 */
// deno-lint-ignore-file no-console -- an install task talks to the person running it
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const MARK = "# fsync launcher written by `deno task install`";
const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

let values: { prefix?: string; force?: boolean };
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: { prefix: { type: "string" }, force: { type: "boolean" } },
  }));
} catch (e) {
  fail(`${(e as Error).message}; usage: deno task install [--prefix DIR] [--force]`, 2);
}
const home = Deno.env.get("HOME");
// deno task runs this in the repository; a relative --prefix is the user's.
const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
const dir = values.prefix !== undefined
  ? resolve(cwd, values.prefix)
  : home
  ? `${home}/.local/bin`
  : fail("HOME is not set: give --prefix DIR", 2);
const target = `${dir.replace(/\/$/, "")}/fsync`;

const fetched = await new Deno.Command(`${repo}/scripts/fsync`, { args: ["--version"], stdout: "null" }).output();
if (fetched.code !== 0) fail("the dependencies could not be fetched (see above)", 69);

try {
  const existing = await Deno.readTextFile(target);
  if (!existing.includes(MARK) && !values.force) {
    fail(`${target} exists and is not an fsync launcher; remove it, or run with --force to replace it`, 73);
  }
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) fail(`cannot read ${target}: ${(e as Error).message}`, 73);
}
try {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    target,
    `#!/bin/sh\n${MARK} from ${repo}\nexec ${shellQuote(`${repo}/scripts/fsync`)} "$@"\n`,
  );
  await Deno.chmod(target, 0o755);
} catch (e) {
  fail(`cannot write ${target}: ${(e as Error).message}`, 73);
}
console.log(`installed ${target} (runs ${repo})`);
const onPath = (Deno.env.get("PATH") ?? "").split(":").some((p) => p.replace(/\/$/, "") === dir.replace(/\/$/, ""));
if (!onPath) console.log(`${dir} is not on your PATH; add it, e.g.: export PATH="${dir}:$PATH"`);

/** A shell word for `s`, quoted so no character in it is special. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function fail(message: string, code: number): never {
  console.error(`fsync install: ${message}`);
  Deno.exit(code);
}
