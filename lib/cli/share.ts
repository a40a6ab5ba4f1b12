// deno-lint-ignore-file no-console -- a command prints for people on standard output.
import { basename, resolve } from "node:path";
import {
  Device,
  type FolderMode,
  formatHostPort,
  formatInvite,
  type HostPort,
  humanBytes,
  parseHostPort,
  shortOfDisplayId,
} from "../../mod.ts";
import { type CliContext, deviceOptions, showProgress } from "./context.ts";
import { askYesNo, untilSignal } from "./terminal.ts";

/** `fsync share`'s options (undefined: from the configuration). */
export interface ShareOptions {
  readonly listen?: HostPort;
  readonly name?: string;
  readonly rescanInterval?: number;
  readonly inviteUses: number;
  readonly inviteTtl: number;
  readonly accept: readonly string[];
  readonly mode?: FolderMode;
  /** Introductions for the folder on or off (undefined: as they were, on for a new folder). */
  readonly introduce?: boolean;
  /** Local discovery on or off (undefined: as the configuration says). */
  readonly discovery?: boolean;
}

/**
 * `fsync share DIR`: offers the folder, prints the invite, and syncs until a signal, with the
 * devices that join and every other device this home knows (dialling those it has an address for).
 */
export async function share(dir: string, opts: ShareOptions, ctx: CliContext): Promise<void> {
  const { logger, config } = ctx;
  const listen = opts.listen ?? config.listen;
  const device = await Device.start(deviceOptions(ctx, opts.rescanInterval));
  const stopProgress = showProgress(device, ctx);
  const dialer = device.dialer();
  try {
    // The port first: a share that cannot listen registers no folder.
    const port = await device.listen(listen);
    const label = opts.name ?? basename(resolve(dir));
    const folder = await device.addFolder(dir, label);
    if (opts.discovery ?? config.discovery) await device.discover();
    if (opts.mode) await device.setFolderMode(folder.id, opts.mode);
    if (opts.introduce !== undefined) await device.setIntroduce(folder.id, opts.introduce);
    device.offerToNewDevices(folder.id);
    const { files, bytes } = await device.folderSummary(folder.id);
    const accepted = new Set(opts.accept);
    let asking = Promise.resolve(false);
    device.onUnknownDevice((peer) => {
      if (accepted.has(peer.deviceId)) return Promise.resolve(true);
      if (!Deno.stdin.isTerminal()) return Promise.resolve(false);
      // One question at a time on the terminal.
      asking = asking.then(() =>
        askYesNo(`${peer.name} (${peer.deviceId}) at ${peer.address} has no invite. Let it join "${folder.label}"?`)
      );
      return asking;
    });
    device.on((e) => {
      const peer = e.type === "in-sync" || e.type === "peer-disconnected" ? shortOfDisplayId(e.peerId) : undefined;
      if (e.type === "in-sync") logger.info(`in sync`, { folder: folder.label, peer });
      if (e.type === "peer-disconnected") logger.info(`disconnected: ${e.reason}`, { peer });
    });
    const address = reachableAddress(listen?.host ?? "0.0.0.0", port);
    const secret = await device.createInvite(folder.id, opts.inviteUses, opts.inviteTtl * 3_600_000);
    const invite = formatInvite({ address: parseHostPort(address), deviceId: device.identity.deviceId, secret });
    console.log(`Sharing "${folder.label}" (${files} files, ${humanBytes(bytes)}) from ${folder.path}`);
    console.log(`This device: ${device.identity.displayId}`);
    console.log(`listening on ${formatHostPort({ host: listen?.host ?? "0.0.0.0", port })}`);
    const uses = opts.inviteUses === 1 ? "once" : `${opts.inviteUses} times`;
    console.log(
      `On the other machine, run (the invite works ${uses}, for ${opts.inviteTtl} h):\n` +
        `  fsync join ${invite} ${folder.label}`,
    );
    await dialer.refresh(config.peers);
    const signal = await Promise.race([untilSignal(), dialer.failed]);
    logger.info(`${signal}: stopping`);
  } finally {
    stopProgress();
    await device.close();
  }
}

/** The address peers should dial: the listen host, or this machine's first LAN address. */
function reachableAddress(host: string, port: number): string {
  if (host !== "0.0.0.0" && host !== "::") return formatHostPort({ host, port });
  const lan = Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."));
  return formatHostPort({ host: lan?.address ?? "127.0.0.1", port });
}
