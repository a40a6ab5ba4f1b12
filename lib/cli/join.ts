// deno-lint-ignore-file no-console -- a command prints for people on standard output.
import { basename, resolve } from "node:path";
import {
  Device,
  ExitCode,
  type FolderMode,
  formatHostPort,
  FsyncError,
  type HostPort,
  humanBytes,
  type Invite,
  keepConnected,
  UntrustedPeerError,
} from "../../mod.ts";
import { type CliContext, deviceOptions, showProgress, UsageError } from "./context.ts";
import { askYesNo, untilSignal } from "./terminal.ts";
import { InSyncReport } from "./progress.ts";
import { stopRequested } from "./bug_trap.ts";

/** `fsync join`'s options (undefined: from the configuration). */
export interface JoinOptions {
  readonly yes: boolean;
  readonly once: boolean;
  readonly rescanInterval?: number;
  readonly mode?: FolderMode;
}

/**
 * `fsync join PEER [DIR]`: connects, accepts the peer's offer (asking on a terminal), and
 * syncs until a signal, or with `--once` until the replica is complete.
 */
export async function join(
  peer: { address: HostPort; invite?: Invite },
  dir: string | undefined,
  opts: JoinOptions,
  ctx: CliContext,
): Promise<void> {
  const { logger } = ctx;
  const device = await Device.start({ ...deviceOptions(ctx, opts.rescanInterval), watch: !opts.once });
  const stopProgress = showProgress(device, ctx);
  const { address, invite } = peer;
  const target = formatHostPort(address);
  const report = new InSyncReport(performance.now());
  let refusal: FsyncError | undefined;
  const existing = dir ? await device.folderAt(dir) : undefined;
  if (existing && opts.mode) await device.setFolderMode(existing.id, opts.mode);
  let folderId = existing?.id;
  const stop = new AbortController();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => resolveDone = r);
  const refuse = (error: FsyncError) => {
    refusal = error;
    resolveDone();
  };
  device.onOffer(async (offer) => {
    const path = resolve(dir ?? safeLabel(offer.label));
    console.log(
      `${offer.peerName} (${offer.peerId}) offers folder "${offer.label}": ` +
        `${offer.fileCount} files, ${humanBytes(offer.totalBytes)}`,
    );
    if (!opts.yes) {
      if (!Deno.stdin.isTerminal()) {
        refuse(
          new UsageError(
            `not joining "${offer.label}": no terminal to confirm the offer`,
            "pass --yes to accept without asking",
          ),
        );
        return { decline: "the user was not asked (no terminal)" };
      }
      if (!(await askYesNo(`Accept and sync it into ${path}?`))) {
        refuse(new UsageError(`declined folder "${offer.label}"`));
        return { decline: "declined by the user" };
      }
    }
    try {
      await Deno.mkdir(path, { recursive: true });
    } catch (e) {
      refuse(new FsyncError(`cannot create ${path}: ${(e as Error).message}`, ExitCode.io, { cause: e }));
      return { decline: "the replica folder could not be created" };
    }
    folderId = offer.folderId;
    console.log(`Joining "${offer.label}" into ${path}${opts.mode ? ` (${opts.mode})` : ""}`);
    return { path, mode: opts.mode };
  });
  device.on((e) => {
    if (e.type === "offer-failed") refuse(e.error);
    if (e.type === "not-trusted") {
      refuse(
        new UntrustedPeerError(`${target} (${e.peerId}) does not trust this device`, {
          hint: `join with the fsync://... invite "fsync share" printed, or have the sharer approve ` +
            `this device: fsync share DIR --accept ${device.identity.displayId}`,
        }),
      );
    }
    if (folderId && "folderId" in e && e.folderId !== folderId) return;
    if (e.type === "pull-progress") report.progress(performance.now());
    if (e.type !== "in-sync") return;
    console.log(report.line(e.totals, performance.now()));
    if (opts.once) resolveDone();
  });
  try {
    const pin = invite ? { deviceId: invite.deviceId, inviteSecret: invite.secret } : {};
    const first = await device.connect(address, pin);
    // The reconnect loop is owned here: a failure in it ends the command with its error.
    const connected = keepConnected(device, address, pin, logger, stop.signal, first.done);
    await Promise.race([done, connected, opts.once ? stopRequested() : untilSignal()]);
    stop.abort();
    await device.close();
    await connected;
    if (refusal) throw refusal;
  } finally {
    stop.abort();
    stopProgress();
    await device.close();
  }
}

/** A folder label as a directory name: its last component, or "shared" when unusable. */
function safeLabel(label: string): string {
  const name = basename(label.replaceAll("\\", "/"));
  return name === "" || name === "." || name === ".." ? "shared" : name;
}
