/**
 * `deno task compile`: builds the single executable `dist/fsync` with the process rights of
 * lib/cli/permissions.ts. `deno compile` takes Deno's runtime (denort) from Deno's download
 * host, or from the file `DENORT_BIN` names; when it can do neither, this says so in one line,
 * with how to point it at a runtime on disk, and leaves no empty `dist/` behind.
 *
 * Exit codes: 0 built; 69 the runtime cannot be downloaded; 66 DENORT_BIN names no file; 1 another
 * failure of `deno compile`.
 */
// deno-lint-ignore-file no-console -- a build task talks to the person running it
import { DENO_FLAGS } from "../lib/cli/permissions.ts";

const repo = new URL("..", import.meta.url).pathname;
const dist = `${repo}dist`;
const denort = Deno.env.get("DENORT_BIN");
if (denort && !(await exists(denort))) {
  console.error(`fsync: DENORT_BIN names ${denort}, which does not exist (it must be the unzipped denort runtime)`);
  Deno.exit(66);
}
const hadDist = await exists(dist);
const args = ["compile", "--quiet", ...DENO_FLAGS, "--output", `${dist}/fsync`, `${repo}cli.ts`];
const { code, stderr } = await new Deno.Command(Deno.execPath(), { args, cwd: repo, stderr: "piped" }).output();
if (code === 0) {
  console.log(`built ${dist}/fsync`);
  Deno.exit(0);
}
if (!hadDist) await removeIfEmpty(dist);
const message = new TextDecoder().decode(stderr);
const runtime = Deno.build.target;
if (/denort|dl\.deno\.land|Setting up base binary/.test(message)) {
  console.error(
    `fsync: deno compile needs Deno's runtime for ${runtime} and cannot download it from dl.deno.land here; ` +
      `with denort-${runtime}.zip unzipped on this machine, run DENORT_BIN=/path/to/denort scripts/deno task compile`,
  );
  Deno.exit(69);
}
console.error(message.trim().split("\n").filter((line) => !/^\s*\d+: |Stack backtrace/.test(line)).join("\n"));
Deno.exit(1);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function removeIfEmpty(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!(e instanceof Deno.errors.NotFound) && code !== "ENOTEMPTY") throw e;
  }
}
