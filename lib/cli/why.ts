// deno-lint-ignore-file no-console -- a command prints for people on standard output.
import { explainIgnored } from "../../mod.ts";
import type { CliContext } from "./context.ts";

/** `fsync why PATH`: says whether the path is ignored, and by which pattern of which file. */
export async function why(path: string, json: boolean, ctx: CliContext): Promise<void> {
  const e = await explainIgnored(ctx.home, path, ctx.config.ignoreDefaults);
  if (json) {
    console.log(JSON.stringify(e));
    return;
  }
  const name = `${e.path}${e.isDirectory ? "/" : ""} (folder "${e.folder}")`;
  const where = e.line === 0 ? "the default pattern" : `.fsyncignore line ${e.line}:`;
  if (e.isIgnoreFile) console.log(`${name} is never synced: it holds this device's ignore patterns`);
  else if (e.ignored) {
    console.log(
      `${name} is ignored by ${where} ${e.pattern}${e.line === 0 ? " (ignore_defaults in config.toml)" : ""}`,
    );
  } else if (e.pattern) console.log(`${name} is not ignored: re-included by ${where} ${e.pattern}`);
  else console.log(`${name} is not ignored: no pattern matches it`);
}
