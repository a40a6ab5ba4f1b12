// deno-lint-ignore-file no-console -- cli.ts is the one place that reports a failed command.
/**
 * @module
 * The `fsync` command: parses arguments (`lib/cli/program.ts`), runs the command in Deno's
 * permission sandbox (`lib/cli/sandbox.ts`), and maps its outcome to a one-line message and
 * an exit code.
 */
import { CommanderError } from "commander";
import { ExitCode, FsyncError } from "./lib/model/mod.ts";
import { program } from "./lib/cli/program.ts";
import { grantsFor } from "./lib/cli/grants.ts";
import { inSandbox, runSandboxed, SandboxCrash, serveSandboxed } from "./lib/cli/sandbox.ts";

/** Runs the CLI with `args` and returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  const verbose = args.includes("-v") || args.includes("--verbose");
  try {
    await program().parseAsync(args, { from: "user" });
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message; help and version are not errors.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (e instanceof FsyncError) {
      console.error(`fsync: ${e.message}${e.hint ? ` (${e.hint})` : ""}`);
      if (verbose) console.error(e.stack, e.cause ?? "");
      return e.exitCode;
    }
    console.error(`fsync: internal error: ${(e as Error).stack ?? e}`);
    return ExitCode.bug;
  }
}

/** Runs `args` in a Worker holding only the rights the command needs, and returns its exit code. */
async function sandboxed(args: string[]): Promise<number> {
  try {
    return await runSandboxed(new URL(import.meta.url), args, await grantsFor(args));
  } catch (e) {
    if (!(e instanceof SandboxCrash)) throw e;
    console.error(`fsync: internal error: ${e.message}`);
    return ExitCode.bug;
  }
}

if (inSandbox()) serveSandboxed(main, (line) => console.error(line));
else if (import.meta.main) Deno.exit(await sandboxed(Deno.args));
