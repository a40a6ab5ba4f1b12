import { join } from "node:path";

/** An environment variable's value; empty counts as unset, as the XDG specification says. */
export function envPath(name: string): string | undefined {
  return Deno.env.get(name) || undefined;
}

/** `$XDG_STATE_HOME/fsync`, or `~/.local/state/fsync`. */
export function defaultHome(): string {
  const state = envPath("XDG_STATE_HOME") ?? join(envPath("HOME") ?? ".", ".local", "state");
  return join(state, "fsync");
}
