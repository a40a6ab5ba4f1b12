/**
 * A command for the sandbox test: run by `runSandboxed` in place of cli.ts, it tries what a
 * buggy command might, and writes what happened as JSON into the first granted directory.
 * Arguments: the granted directory, a path outside every grant; or `bug` (an unhandled
 * rejection, then a clean stop), `bug-hang` (one, and no stop) or `bug-throw` (an uncaught
 * error in a timer, then a clean stop), and the granted directory, where the bug's report goes.
 */
import { join } from "node:path";
import { serveSandboxed, symlinkThroughLauncher } from "../../lib/cli/sandbox.ts";
import { stopRequested } from "../../lib/cli/bug_trap.ts";

/** What one attempt ended with: "ok", or the name of the error it threw. */
function attempt(action: () => unknown): string {
  try {
    action();
    return "ok";
  } catch (e) {
    return (e as Error).name;
  }
}

let reports = "";

serveSandboxed(async ([inside, outside]) => {
  if (inside === "bug" || inside === "bug-hang" || inside === "bug-throw") {
    reports = join(outside, "reports.txt");
    if (inside === "bug-throw") {
      setTimeout(() => {
        throw new Error("an error nobody catches");
      });
    } else void Promise.reject(new Error("a rejection nobody handles"));
    if (inside === "bug-hang") await new Promise(() => {});
    await stopRequested();
    await Deno.writeTextFile(join(outside, "stopped.txt"), "stopped cleanly");
    return 0;
  }
  const outcome = {
    writeInside: attempt(() => Deno.writeTextFileSync(join(inside, "written.txt"), "x")),
    writeOutside: attempt(() => Deno.writeTextFileSync(join(outside, "written.txt"), "x")),
    readOutside: attempt(() => Deno.readDirSync(outside)),
    envPath: attempt(() => Deno.env.get("PATH")),
    envHome: attempt(() => Deno.env.get("HOME")),
    run: attempt(() => new Deno.Command("true").outputSync()),
    symlinkInside: attempt(() => symlinkThroughLauncher("written.txt", join(inside, "link"))),
    symlinkAgain: attempt(() => symlinkThroughLauncher("written.txt", join(inside, "link"))),
    symlinkOutside: attempt(() => symlinkThroughLauncher("/etc/passwd", join(outside, "link"))),
    net: await Deno.connect({ hostname: "127.0.0.1", port: 9 }).then(
      (c) => (c.close(), "ok"),
      (e) => (e as Error).name,
    ),
  };
  await Deno.writeTextFile(join(inside, "outcome.json"), JSON.stringify(outcome));
  return 3;
}, (line) => Deno.writeTextFileSync(reports, `${line}\n`, { append: true }));
