// @ts-types="npm:@types/cli-progress@3.11.6"
import cliProgress from "cli-progress";
import process from "node:process";
import { type Device, type DeviceEvent, humanBytes, type Logger, shortOfDisplayId } from "../../mod.ts";

/** How progress is shown. */
export interface ProgressOptions {
  /** A live line per folder (standard error is a terminal), else log lines. */
  readonly terminal: boolean;
  /** Seconds between two log lines of a folder when not on a terminal. */
  readonly logEverySeconds: number;
  readonly logger: Logger;
}

type Progress = Extract<DeviceEvent, { type: "pull-progress" }>;

/** What is known of one folder's running pass. */
interface FolderProgress {
  latest: Progress;
  /** Fetched bytes per second, smoothed. */
  rate: number;
  sampledAt: number;
  sampledBytes: number;
  bar?: cliProgress.SingleBar;
}

/** How long the rest takes at `rate`: only bytes still to fetch count, not the ones reused locally. */
export function timeLeft(p: Progress, rate: number): string {
  const remaining = Math.max(0, p.bytesTotal - p.bytesFetched - p.bytesReused);
  if (remaining === 0) return "0 s";
  if (rate <= 0) return "?";
  const s = Math.ceil(remaining / rate);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${(s / 3600).toFixed(1)} h`;
}

/** One folder's progress in words. */
export function describe(p: Progress, rate: number): string {
  return `${p.filesDone}/${p.filesTotal} files, ${humanBytes(p.bytesFetched + p.bytesReused)}/` +
    `${humanBytes(p.bytesTotal)} (${humanBytes(p.bytesReused)} reused), ${humanBytes(rate)}/s, ` +
    `${timeLeft(p, rate)} left`;
}

type Totals = Extract<DeviceEvent, { type: "in-sync" }>["totals"];

/**
 * The "In sync" lines of one folder: each says what that catching up with a peer wrote,
 * received and reused (the peer's totals since its previous line), and its rate, over the
 * time it took: from the start for the first, and from the first progress after the previous
 * line for later ones (idle time between is not counted).
 */
export class InSyncReport {
  /** Each peer's totals at its last line. */
  #last = new Map<string, Totals>();
  #since: number;
  #busySince?: number;

  /** `startedMs`: when the command started (a monotonic clock, as the later calls use). */
  constructor(startedMs: number) {
    this.#since = startedMs;
  }

  /** A pull of the folder made progress at `nowMs`. */
  progress(nowMs: number): void {
    this.#busySince ??= nowMs;
  }

  /** The line for an in-sync event with the folder's `totals` pulled from `peerId` since the device started. */
  line(peerId: string, totals: Totals, nowMs: number): string {
    const last = this.#last.get(peerId) ?? { files: 0, bytesFetched: 0, bytesReused: 0 };
    const files = totals.files - last.files;
    const fetched = totals.bytesFetched - last.bytesFetched;
    const reused = totals.bytesReused - last.bytesReused;
    const seconds = Math.max(nowMs - (this.#busySince ?? this.#since), 0) / 1000;
    this.#last.set(peerId, totals);
    this.#busySince = undefined;
    this.#since = nowMs;
    return `In sync: ${files} files and directories written, ${humanBytes(fetched)} received, ` +
      `${humanBytes(reused)} reused locally, in ${seconds.toFixed(1)} s ` +
      `(${humanBytes(fetched / Math.max(seconds, 0.001))}/s)`;
  }
}

/**
 * Shows the device's pulls as they go: on a terminal a live line per folder (cli-progress),
 * elsewhere a log line per folder every `logEverySeconds`. Returns the function that stops it.
 */
export function followProgress(device: Device, options: ProgressOptions): () => void {
  // The bars go to standard error, like the log lines they stand for.
  const folders = new Map<string, FolderProgress>();
  const bars = options.terminal
    ? new cliProgress.MultiBar({
      format: "{label} [{bar}] {text}",
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      autopadding: true,
      barsize: 24,
      stream: process.stderr,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  /** Updates the smoothed fetch rate from the bytes fetched since the last sample. */
  const sample = (f: FolderProgress, now: number) => {
    const elapsed = (now - f.sampledAt) / 1000;
    if (elapsed < 0.5) return;
    const instant = (f.latest.bytesFetched - f.sampledBytes) / elapsed;
    f.rate = f.rate === 0 ? instant : 0.7 * f.rate + 0.3 * instant;
    f.sampledAt = now;
    f.sampledBytes = f.latest.bytesFetched;
  };
  // Without a terminal, a line per running pass every interval, whether or not bytes came.
  const timer = bars ? undefined : setInterval(() => {
    const now = performance.now();
    for (const f of folders.values()) {
      sample(f, now);
      const e = f.latest;
      options.logger.info(`pulling: ${describe(e, f.rate)}`, { folder: e.label, peer: shortOfDisplayId(e.peerId) });
    }
  }, options.logEverySeconds * 1000);
  const unsubscribe = device.on((e) => {
    if (e.type !== "pull-progress") return;
    const now = performance.now();
    let f = folders.get(e.folderId);
    if (!f) {
      f = { latest: e, rate: 0, sampledAt: now, sampledBytes: e.bytesFetched };
      folders.set(e.folderId, f);
    }
    f.latest = e;
    sample(f, now);
    if (bars) {
      const label = `${e.label} ← ${shortOfDisplayId(e.peerId)}`;
      f.bar ??= bars.create(e.filesTotal, 0, { label, text: "" });
      f.bar.setTotal(e.filesTotal);
      f.bar.update(e.filesDone, { label, text: describe(e, f.rate) });
    }
    if (e.done) {
      if (f.bar) bars?.remove(f.bar);
      folders.delete(e.folderId);
    }
  });
  return () => {
    clearInterval(timer);
    unsubscribe();
    bars?.stop();
  };
}
