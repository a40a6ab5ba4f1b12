/**
 * What a command may touch (see `sandbox.ts`): parsed with the CLI's own parser, running
 * nothing, from the arguments, the folders the home syncs and those its config.toml names.
 * A Worker's rights are fixed when it starts, so a folder the command adds later (`join`
 * without a directory) is covered by granting the directory it will be created in.
 */
import { join, resolve } from "node:path";
import { CommanderError } from "commander";
import { FsyncError } from "../model/mod.ts";
import { CONTROL_SOCKET, readFolderPaths } from "../store/mod.ts";
import { readConfig } from "./config.ts";
import type { GlobalOptions } from "./context.ts";
import { program } from "./program.ts";
import { unitDirOf } from "./service.ts";

/** What the command's Worker may do. */
export interface Grants {
  /** Files and directories it may read (each with everything below it). */
  readonly read: readonly string[];
  /** Files and directories it may write. */
  readonly write: readonly string[];
  /** Any host and port (`true`), or only these `unix:PATH` sockets (its running device's control socket). */
  readonly net: true | readonly string[];
}

/** Commands that talk to peers. */
const NETWORKED = new Set(["share", "join", "run", "sync"]);

/** A parsed command line: the (sub)command's name path, its positional arguments and options. */
interface Parsed {
  readonly names: readonly string[];
  readonly args: readonly unknown[];
  readonly opts: GlobalOptions & Record<string, unknown>;
}

/** Parses `args` with the CLI's own parser, running no command and printing nothing. */
async function parseCommand(args: string[]): Promise<Parsed | undefined> {
  const root = program();
  let parsed: Parsed | undefined;
  const silent = { writeOut: () => {}, writeErr: () => {}, outputError: () => {} };
  const visit = (cmd: ReturnType<typeof program>) => {
    cmd.configureOutput(silent);
    for (const sub of cmd.commands) {
      sub.action(() => {
        const names: string[] = [];
        for (let c: typeof sub | null = sub; c && c !== root; c = c.parent) names.unshift(c.name());
        parsed = { names, args: sub.processedArgs, opts: sub.optsWithGlobals() as Parsed["opts"] };
      });
      visit(sub);
    }
  };
  visit(root);
  try {
    await root.parseAsync(args, { from: "user" });
  } catch (e) {
    // Help, a version or bad arguments: the command's own run prints them.
    if (e instanceof CommanderError) return undefined;
    throw e;
  }
  return parsed;
}

/** The folder paths config.toml declares, or none when it is missing or invalid (the command reports that). */
async function configuredFolders(home: string): Promise<string[]> {
  try {
    return (await readConfig(home))?.folders.map((f) => f.path) ?? [];
  } catch (e) {
    if (e instanceof FsyncError) return [];
    throw e;
  }
}

/** The folders a home syncs, or none when its store cannot be read (the command reports why). */
async function knownFolders(home: string): Promise<string[]> {
  try {
    return await readFolderPaths(home);
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) return [];
    throw e;
  }
}

/** `path` and, when it exists and differs, where its symlinks lead (permissions match path strings). */
function withRealPath(path: string): string[] {
  try {
    const real = Deno.realPathSync(path);
    return real === path ? [path] : [path, real];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) return [path];
    throw e;
  }
}

/**
 * The rights the command in `args` needs: the home and every folder it syncs or names,
 * read and write; the network for the commands that talk to peers, else only the control
 * socket of a device running on the home.
 */
export async function grantsFor(args: string[]): Promise<Grants> {
  const parsed = await parseCommand(args);
  // Help, a version or bad arguments: printing them needs no rights.
  if (!parsed) return { read: [], write: [], net: [] };
  const home = resolve(parsed.opts.home);
  const places = [home, ...await knownFolders(home), ...await configuredFolders(home)];
  const command = parsed.names.join(" ");
  const read: string[] = [];
  if (command === "share") places.push(resolve(parsed.args[0] as string));
  // Without a directory, join creates the replica in the current one, named after the offer.
  if (command === "join") places.push(resolve((parsed.args[1] as string | undefined) ?? "."));
  if (command === "service install") {
    places.push(resolve(unitDirOf(parsed.opts as unknown as Parameters<typeof unitDirOf>[0])));
    // The unit names the program that runs it (Deno.execPath needs read access to it).
    read.push(Deno.execPath());
  }
  const all = [...new Set(places.flatMap(withRealPath))];
  const control = withRealPath(home).map((h) => `unix:${join(h, CONTROL_SOCKET)}`);
  return { read: [...all, ...read], write: all, net: NETWORKED.has(parsed.names[0]) ? true : control };
}
