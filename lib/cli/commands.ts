// deno-lint-ignore-file no-console -- commands print for people on standard output.
/**
 * The commands as the parser (`program.ts`) runs them: each opens the home with the global
 * options and runs. `program.ts` loads this module with import() when a command runs, so
 * parsing a command line (what the first stage does, see `sandbox.ts`) loads none of fsync's
 * library.
 */
import { deviceIdOf, type FolderAction, type HostPort, type Invite, readStatus, revokePeer } from "../../mod.ts";
import { type CliContext, configuredModes, forgetFailedHome, type GlobalOptions, openContext } from "./context.ts";
import { folderAction } from "./folder.ts";
import { join, type JoinOptions } from "./join.ts";
import { type RunOptions, serve, syncOnce, type SyncOnceOptions } from "./run.ts";
import { installService, type ServiceOptions } from "./service.ts";
import { share, type ShareOptions } from "./share.ts";
import { conflicts, formatPeer, status } from "./status.ts";
import { why } from "./why.ts";

/** Runs a command that may write the home; a home it created and failed in is removed. */
async function withHome(globals: GlobalOptions, command: (ctx: CliContext) => Promise<void>): Promise<void> {
  const ctx = await openContext(globals, { create: true });
  try {
    await command(ctx);
  } catch (e) {
    await forgetFailedHome(ctx);
    throw e;
  }
}

/** Runs a command on the home as it is: it creates nothing there (a missing home reads as empty). */
async function inExistingHome(globals: GlobalOptions, command: (ctx: CliContext) => Promise<void>): Promise<void> {
  await command(await openContext(globals, { create: false }));
}

/** `fsync share DIR`. */
export function shareCommand(dir: string, opts: ShareOptions, globals: GlobalOptions): Promise<void> {
  return withHome(globals, (ctx) => share(dir, opts, ctx));
}

/** `fsync join PEER [DIR]`. */
export function joinCommand(
  peer: { address: HostPort; invite?: Invite },
  dir: string | undefined,
  opts: JoinOptions,
  globals: GlobalOptions,
): Promise<void> {
  return withHome(globals, (ctx) => join(peer, dir, opts, ctx));
}

/** `fsync run` (listening) and `fsync sync` (not). */
export function serveCommand(opts: RunOptions, globals: GlobalOptions, listen: boolean): Promise<void> {
  return withHome(globals, (ctx) => serve(opts, ctx, listen));
}

/** `fsync sync --once`. */
export function syncOnceCommand(opts: SyncOnceOptions, globals: GlobalOptions): Promise<void> {
  return withHome(globals, (ctx) => syncOnce(opts, ctx));
}

/** `fsync service install`. */
export function serviceInstallCommand(opts: ServiceOptions, globals: GlobalOptions): Promise<void> {
  return withHome(globals, (ctx) => installService(opts, ctx));
}

/** `fsync folder rescan|confirm-deletes FOLDER`. */
export function folderCommand(folder: string, action: FolderAction, globals: GlobalOptions): Promise<void> {
  return inExistingHome(globals, (ctx) => folderAction(folder, action, ctx));
}

/** `fsync status`. */
export function statusCommand(json: boolean, globals: GlobalOptions): Promise<void> {
  return inExistingHome(globals, (ctx) => status(json, ctx));
}

/** `fsync conflicts`. */
export function conflictsCommand(json: boolean, globals: GlobalOptions): Promise<void> {
  return inExistingHome(globals, (ctx) => conflicts(json, ctx));
}

/** `fsync why PATH`. */
export function whyCommand(path: string, json: boolean, globals: GlobalOptions): Promise<void> {
  return inExistingHome(globals, (ctx) => why(path, json, ctx));
}

/** `fsync peers`: the devices this one knows. */
export function peersCommand(globals: GlobalOptions): Promise<void> {
  return inExistingHome(globals, async (ctx) => {
    const { peers } = await readStatus(ctx.home, {
      ignoreDefaults: ctx.config.ignoreDefaults,
      folderModes: configuredModes(ctx.config),
    });
    if (peers.length === 0) console.log("no peers yet");
    for (const p of peers) console.log(formatPeer(p, peers));
  });
}

/** `fsync revoke DEVICE-ID`. */
export function revokeCommand(deviceId: string, globals: GlobalOptions): Promise<void> {
  return inExistingHome(globals, async ({ home }) => {
    const peer = await revokePeer(home, deviceId);
    console.log(`revoked ${peer.name} (${peer.deviceId})`);
  });
}

/** `fsync id`: the identity is made on first use; no lock is taken. */
export function idCommand(globals: GlobalOptions): Promise<void> {
  return withHome(globals, async ({ home }) => console.log(await deviceIdOf(home)));
}
