// deno-lint-ignore-file no-console -- a command prints for people on standard output.
import {
  Device,
  ExitCode,
  formatDeviceId,
  formatHostPort,
  FsyncError,
  type HostPort,
  keepConnected,
  PeerUnreachableError,
} from "../../mod.ts";
import { applyConfiguredFolders } from "./config_folders.ts";
import { type CliContext, deviceOptions, showProgress } from "./context.ts";
import { untilSignal } from "./terminal.ts";
import { bugTrapped, stopRequested } from "./bug_trap.ts";

/** `fsync run` and `fsync sync`'s options (undefined: from the configuration). */
export interface RunOptions {
  readonly listen?: HostPort;
  readonly rescanInterval?: number;
  /** Local discovery on or off (undefined: as the configuration says). */
  readonly discovery?: boolean;
}

/** Starts the home's device with the configuration's folders added, and offers of them accepted. */
async function startDevice(ctx: CliContext, opts: RunOptions, watch: boolean): Promise<Device> {
  const device = await Device.start({ ...deviceOptions(ctx, opts.rescanInterval), watch });
  try {
    device.onOffer(await applyConfiguredFolders(device, ctx));
  } catch (e) {
    await device.close();
    throw e;
  }
  return device;
}

/**
 * `fsync run` (listening) and `fsync sync` (not): syncs every folder of the home with every
 * known peer, keeping them connected, until SIGINT or SIGTERM. Invites made by `fsync share`
 * stay valid: invited devices get their folder offered.
 */
export async function serve(opts: RunOptions, ctx: CliContext, listen: boolean): Promise<void> {
  const { logger } = ctx;
  const device = await startDevice(ctx, opts, true);
  const stopProgress = showProgress(device, ctx);
  const dialer = device.dialer();
  try {
    const folders = await device.folders();
    if (folders.length === 0) logger.warn("this home has no folders yet: add one with fsync share or fsync join");
    for (const folder of folders) device.offerToNewDevices(folder.id);
    if (listen) {
      const address = opts.listen ?? ctx.config.listen;
      const port = await device.listen(address);
      logger.info(`listening on ${formatHostPort({ host: address?.host ?? "0.0.0.0", port })}`);
    }
    if (opts.discovery ?? ctx.config.discovery) await device.discover();
    await dialer.refresh(ctx.config.peers);
    logger.info(`syncing ${folders.length} folder(s); dialling ${dialer.size} peer(s)`);
    // Until a signal (or a dialling loop's unexpected failure, which ends the run too).
    const signal = await Promise.race([untilSignal(), dialer.failed]);
    logger.info(`${signal}: stopping`);
  } finally {
    stopProgress();
    await device.close();
  }
}

/** `fsync sync --once`'s options. */
export interface SyncOnceOptions extends RunOptions {
  /** Seconds to wait for every reached peer to converge. */
  readonly timeout: number;
}

/**
 * `fsync sync --once`: scans, dials every known peer, and exits once this device and each
 * peer it reached hold the same versions of every folder they share.
 *
 * @throws {PeerUnreachableError} when no peer, or not every peer, could be reached.
 * @throws {FsyncError} (tempFail) when the peers did not converge within the timeout.
 */
export async function syncOnce(opts: SyncOnceOptions, ctx: CliContext): Promise<void> {
  const started = performance.now();
  const device = await startDevice(ctx, opts, false);
  const stopProgress = showProgress(device, ctx);
  const stop = new AbortController();
  const loops: Promise<void>[] = [];
  try {
    const targets = await device.dialTargets(ctx.config.peers);
    if (targets.length === 0) {
      throw new FsyncError("no peer to sync with", ExitCode.unavailable, {
        hint: `join a folder first, or list peers in ${ctx.home}/config.toml`,
      });
    }
    const reached = new Map<string, string>();
    const failed: string[] = [];
    /** Targets not reached, by the device they were pinned to (if any). */
    const unreached: { deviceId?: string; why: string }[] = [];
    device.on((e) => {
      if (e.type === "share-declined" && reached.has(e.peerId)) {
        failed.push(`${reached.get(e.peerId)}: it declined folder ${e.folderId} (${e.reason})`);
      }
      if (e.type !== "not-trusted" || !reached.has(e.peerId)) return;
      failed.push(`${reached.get(e.peerId)} does not trust this device`);
      reached.delete(e.peerId);
    });
    await Promise.all(targets.map(async (t) => {
      const target = formatHostPort(t.address);
      try {
        const { session, done } = await device.connect(t.address, t.pin);
        reached.set(session.peer.deviceId, `${session.peer.deviceName} (${target})`);
        loops.push(keepConnected(device, t.address, t.pin, ctx.logger, stop.signal, done));
      } catch (e) {
        if (!(e instanceof FsyncError)) throw e;
        unreached.push({ deviceId: t.pin?.deviceId && formatDeviceId(t.pin.deviceId), why: `${target}: ${e.message}` });
      }
    }));
    // A device reached at another address (one it listens on now, one the configuration names) is no failure.
    for (const u of unreached) if (!u.deviceId || !reached.has(u.deviceId)) failed.push(u.why);
    const deadline = Date.now() + opts.timeout * 1000;
    // A stopped folder cannot converge: it neither scans nor pulls until its root is back.
    const stopped = () => device.folderProblems().filter((p) => p.kind === "stopped");
    while (reached.size > 0 && stopped().length === 0) {
      const waiting: string[] = [];
      for (const [peerId, name] of reached) if (!(await device.convergedWith(peerId))) waiting.push(name);
      if (waiting.length === 0) break;
      if (Date.now() > deadline) {
        throw new FsyncError(`not in sync after ${opts.timeout} s with ${waiting.join(", ")}`, ExitCode.tempFail, {
          hint: "run it again, or raise --timeout",
        });
      }
      // Checked again at the next event that may complete it (or in 200 ms at the latest).
      let timer: ReturnType<typeof setTimeout> | undefined;
      let unsubscribe = () => {};
      const progress = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 200);
        unsubscribe = device.on((e) => {
          if (e.type === "in-sync" || e.type === "peer-pulled" || e.type.startsWith("share-")) resolve();
        });
      });
      await Promise.race([progress, stopRequested()]);
      clearTimeout(timer);
      unsubscribe();
      if (bugTrapped()) throw new FsyncError("stopped by an internal error", ExitCode.bug);
    }
    // A stopped folder, or a held deletion: what is not in sync waits for the user.
    const problems = device.folderProblems();
    if (problems.length > 0) {
      throw new FsyncError(problems.map((p) => `folder ${p.label}: ${p.message}`).join("; "), ExitCode.tempFail);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (reached.size > 0) console.log(`In sync with ${[...reached.values()].join(", ")} in ${seconds} s`);
    if (failed.length > 0) {
      const done = reached.size > 0 ? `in sync with ${reached.size} peer(s), but ` : "";
      throw new PeerUnreachableError(`${done}could not sync with ${failed.join("; ")}`);
    }
  } catch (e) {
    // Cron runs this: `fsync status` afterwards shows why the last run failed.
    if (e instanceof FsyncError) device.recordFailure(`sync --once: ${e.message}`);
    throw e;
  } finally {
    stop.abort();
    stopProgress();
    await device.close();
    await Promise.all(loops);
  }
}
