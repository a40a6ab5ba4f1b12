// deno-lint-ignore-file no-console -- a command prints for people on standard output.
import { basename, resolve } from "node:path";
import {
  Device,
  ExitCode,
  type FolderMode,
  formatDeviceId,
  formatHostPort,
  FsyncError,
  type HostPort,
  humanBytes,
  type Invite,
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
  readonly listen?: HostPort;
  /** Introductions for the folder on or off (undefined: as they were, on for a new folder). */
  readonly introduce?: boolean;
  /** Local discovery on or off (undefined: as the configuration says). */
  readonly discovery?: boolean;
}

/**
 * `fsync join PEER [DIR]`: listens, connects, accepts the peer's offer (asking on a terminal),
 * and syncs with it and the devices it introduces until a signal, or with `--once` until the
 * replica is complete.
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
  if (existing && opts.introduce !== undefined) await device.setIntroduce(existing.id, opts.introduce);
  let folderId = existing?.id;
  /** The device the invite names, or the one that answered at the address. */
  let sharerId = invite ? formatDeviceId(invite.deviceId) : undefined;
  const dialer = device.dialer();
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
    return { path, mode: opts.mode, introduce: opts.introduce };
  });
  device.on((e) => {
    if (e.type === "offer-failed") refuse(e.error);
    if (e.type === "not-trusted" && e.peerId !== sharerId) {
      logger.warn(`${e.peerId} does not trust this device (yet): it may not have been told about it`);
    } else if (e.type === "not-trusted") {
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
    console.log(report.line(e.peerId, e.totals, performance.now()));
    if (opts.once) resolveDone();
  });
  try {
    const listen = opts.listen ?? ctx.config.listen;
    const port = await device.listen(listen);
    logger.info(`listening on ${formatHostPort({ host: listen?.host ?? "0.0.0.0", port })}`);
    if (opts.discovery ?? ctx.config.discovery) await device.discover();
    const pin = invite ? { deviceId: invite.deviceId, inviteSecret: invite.secret } : {};
    const first = await device.connect(address, pin);
    sharerId = first.session.peer.deviceId;
    // The dialling loops are owned here: an unexpected failure in one ends the command with its error.
    dialer.add({ address, pin }, first.done);
    await dialer.refresh(ctx.config.peers);
    await Promise.race([done, dialer.failed, opts.once ? stopRequested() : untilSignal()]);
    await device.close();
    if (refusal) throw refusal;
  } finally {
    stopProgress();
    await device.close();
  }
}

/** A folder label as a directory name: its last component, or "shared" when unusable. */
function safeLabel(label: string): string {
  const name = basename(label.replaceAll("\\", "/"));
  return name === "" || name === "." || name === ".." ? "shared" : name;
}
