import { fileURLToPath } from "node:url";
import { DENO_RUN_FLAGS } from "./peer.ts";

const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));

/** Starts `fsync ARGS` on a pseudo-terminal (util-linux `script`); what is written to its stdin is typed at it. */
export function spawnOnTerminal(args: string[]): Deno.ChildProcess {
  const command = [Deno.execPath(), ...DENO_RUN_FLAGS, CLI, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
  return new Deno.Command("script", {
    args: ["--quiet", "--return", "--command", command, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** Runs `fsync ARGS` on a pseudo-terminal with `input` typed at it, to the end. */
export async function onTerminal(args: string[], input: string): Promise<{ code: number; screen: string }> {
  const child = spawnOnTerminal(args);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output().finally(() => clearTimeout(timer));
  await writer.close().catch(() => {/* script may have closed its input already */});
  return { code: out.code, screen: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}
