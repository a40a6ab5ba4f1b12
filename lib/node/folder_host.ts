import { denoFs } from "../fs/mod.ts";
import { type FolderMode, FsyncError } from "../model/mod.ts";
import { DELETION_GRACE_MS, type DeletionThresholds } from "../plan/mod.ts";
import { RECENT_MS } from "../scan/mod.ts";
import type { FolderRecord, Store } from "../store/mod.ts";
import type { ByteBudget } from "../transfer/mod.ts";
import type { DeviceEvent } from "./events.ts";
import { FolderRunner } from "./folder_runner.ts";
import { FolderWatch } from "./folder_watch.ts";
import type { Logger } from "./logger.ts";

/** What a folder host needs of its device, shared by every folder. */
export interface FolderHostContext {
  readonly store: Store;
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** This device's short ID, for new versions. */
  readonly shortId: string;
  readonly ignoreDefaults?: boolean;
  /** Watch folders and rescan them periodically (false: one-shot, scanned once). */
  readonly watch: boolean;
  readonly scanIntervalMs: number;
  /** Bounds the bytes fetched and not yet written, across every folder. */
  readonly unwritten: ByteBudget;
  /** Creates the symlinks pulls make (default `Deno.symlinkSync`). */
  readonly makeSymlink?: (target: string, path: string) => void;
  /** What the folder takes from peers changed (rules, mode, a root back): pull it again. */
  onPolicyChanged(folderId: string): void;
  emit(event: DeviceEvent): void;
  /** Owns a background task (awaited at close, its failure logged). */
  track<T>(task: Promise<T>): Promise<T>;
}

/**
 * One folder on a running device: its runner, its watch, and the scans that keep its index
 * current (the first, those the watcher hints, a periodic full one, the re-reads of files
 * still recent, and those asked for by block requests that found a file changed).
 */
export class FolderHost {
  readonly runner: FolderRunner;
  #ctx: FolderHostContext;
  #watch?: FolderWatch;
  #scanTimer?: ReturnType<typeof setInterval>;
  #recheckTimer?: ReturnType<typeof setTimeout>;
  #deletionTimer?: ReturnType<typeof setTimeout>;
  /** Paths found changed while serving them, with a rescan under way. */
  #staleServed = new Set<string>();
  #closed = false;

  /** `mode` and `deletionThresholds` are the folder's own (from the configuration or the store). */
  constructor(
    folder: FolderRecord,
    ctx: FolderHostContext,
    mode: FolderMode,
    deletionThresholds: DeletionThresholds | undefined,
  ) {
    this.#ctx = ctx;
    this.#watch = ctx.watch
      ? new FolderWatch(folder.path, {
        onHint: (hint) => ctx.track(this.rescan(hint.all ? undefined : [...hint.paths])),
        onFailure: (message) => this.#watchFailed(message),
      })
      : undefined;
    this.runner = new FolderRunner(folder, ctx.store, {
      shortId: ctx.shortId,
      logger: ctx.logger,
      nowMs: ctx.nowMs,
      ignoreDefaults: ctx.ignoreDefaults,
      mode,
      onPolicyChanged: () => ctx.onPolicyChanged(folder.id),
      onPullProgress: (progress) =>
        ctx.emit({ type: "pull-progress", folderId: folder.id, label: folder.label, ...progress }),
      unwritten: ctx.unwritten,
      deletionThresholds,
      fs: ctx.makeSymlink ? { ...denoFs, symlinkSync: ctx.makeSymlink } : denoFs,
      onRootChanged: (usable) => usable ? this.#watch?.resumed() : this.#watch?.stopped(),
      // Watched, a move may come as two hints; once, every scan sees both ends.
      deletionGraceMs: ctx.watch ? DELETION_GRACE_MS : 0,
    });
  }

  /**
   * Watches the folder, scans it, and (watching) schedules its periodic scan; one-shot, re-reads
   * the files still fresh before anything is sent.
   *
   * @throws {FsyncError} when the folder cannot be read.
   */
  async start(): Promise<void> {
    const { runner } = this;
    const { folder } = runner;
    // Watching starts before the first scan reads the folder: a change made meanwhile is
    // either read by that scan or seen by the watcher. A missing root is the scan's to report.
    await this.#watch?.start();
    const changed = await runner.scan();
    if (runner.problem?.kind !== "stopped") {
      this.#ctx.logger.info(`${folder.path} scanned: ${changed} changes`, { folder: folder.label });
    }
    if (!this.#ctx.watch) {
      if (runner.hasRecent) await new Promise((r) => setTimeout(r, RECENT_MS));
      if (runner.hasRecent) await runner.recheckRecent();
      return;
    }
    this.#scheduleRecheck();
    this.#scanTimer = setInterval(() => this.#ctx.track(this.rescan()), this.#ctx.scanIntervalMs);
  }

  /**
   * Scans (part of) the folder, or re-reads its recent files; a folder that became unreadable
   * is logged, not fatal.
   */
  async rescan(paths?: readonly string[] | "recent"): Promise<void> {
    if (this.#closed) return;
    const { runner } = this;
    try {
      const changed = paths === "recent" ? await runner.recheckRecent() : await runner.requestScan(paths);
      if (changed > 0) this.#ctx.logger.debug(`${changed} local changes`, { folder: runner.folder.label });
    } catch (e) {
      if (!(e instanceof FsyncError)) throw e;
      this.#ctx.logger.error(e.message, { folder: runner.folder.label });
    }
    this.#scheduleRecheck();
    this.#scheduleHeldDeletions();
  }

  /** A file was found changed while serving it: rescan it (once at a time) so peers get the new version. */
  servedStale(path: string): void {
    if (this.#staleServed.has(path)) return;
    this.#staleServed.add(path);
    this.#ctx.track(this.rescan([path]).finally(() => this.#staleServed.delete(path)));
  }

  /** Stops watching and the timers. */
  close(): void {
    this.#closed = true;
    this.#watch?.close();
    clearInterval(this.#scanTimer);
    clearTimeout(this.#recheckTimer);
    clearTimeout(this.#deletionTimer);
  }

  /** Re-reads the folder's recent files once they are RECENT_MS old (one timer at a time). */
  #scheduleRecheck(): void {
    if (this.#closed || !this.runner.hasRecent || this.#recheckTimer !== undefined) return;
    this.#recheckTimer = setTimeout(() => {
      this.#recheckTimer = undefined;
      this.#ctx.track(this.rescan("recent"));
    }, RECENT_MS + 50);
  }

  /**
   * Scans the paths whose deletions a scan held back once the first is due (one timer at a
   * time); held deletions a due scan could not settle (it failed) are tried again in 10 s.
   */
  #scheduleHeldDeletions(): void {
    const held = this.runner.heldDeletions;
    if (this.#closed || !held || this.#deletionTimer !== undefined) return;
    this.#deletionTimer = setTimeout(() => {
      this.#deletionTimer = undefined;
      const paths = this.runner.heldDeletions?.paths;
      if (paths) this.#ctx.track(this.rescan(paths));
    }, held.dueInMs > 0 ? held.dueInMs + 50 : 10_000);
  }

  /** Says, with the fix, that the folder cannot be watched; periodic scans carry on. */
  #watchFailed(message: string): void {
    const { folder } = this.runner;
    // The limit itself is not named: Deno lets only --allow-all read /proc/sys.
    const ms = this.#ctx.scanIntervalMs;
    const every = ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
    this.#ctx.logger.warn(
      `cannot watch ${folder.path} (${message}); changes are found by a full scan ` +
        `every ${every} instead. If the inotify watch limit (sysctl fs.inotify.max_user_watches) is too low, ` +
        `raise it: sudo sysctl fs.inotify.max_user_watches=524288`,
      { folder: folder.label },
    );
  }
}
