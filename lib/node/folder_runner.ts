import {
  ExitCode,
  type FileInfo,
  type FolderMode,
  FsyncError,
  Mutex,
  parentPath,
  printable,
  Semaphore,
  shortOfDisplayId,
} from "../model/mod.ts";
import {
  type Decider,
  DEFAULT_DELETION_THRESHOLDS,
  type DeletionThresholds,
  folderDecider,
  holdFreshDeletions,
  rootVerdict,
} from "../plan/mod.ts";
import { IgnoreRules, loadIgnoreRules, scanFolder, type ScanProblem } from "../scan/mod.ts";
import type { FolderRecord, Store } from "../store/mod.ts";
import type { BlockSource, ByteBudget } from "../transfer/mod.ts";
import { denoFs, type FileSystem } from "../fs/mod.ts";
import { DeletionHold } from "./deletion_hold.ts";
import { Signal } from "./_signal.ts";
import { hasMarker, observeRoot, stoppedMessage, writeMarker } from "./folder_marker.ts";
import type { Logger } from "./logger.ts";
import { type PathProblem, PathProblems } from "./path_problems.ts";
import { TempKeeper } from "./temp_keeper.ts";
import { noPull, type PullProgress, type PullResult, runPullPass } from "./pull_pass.ts";

export type { PullProgress, PullResult } from "./pull_pass.ts";

/** A clean pull reached the peer's entry `sequence` under the policy `policy` (see `policyKey`). */
export interface PulledUpTo {
  readonly sequence: number;
  readonly policy: string;
}

/**
 * Bytes pulls may have fetched and not yet written, at most (each request is at most 1 MiB):
 * one bound for the whole device, whatever the number of folders and peers pulling. With 16
 * instead of 32 MiB (and 8 MiB in flight per peer), the mixed bench's peak RSS fell by about
 * 15-20 MiB on each peer at the same speed: the transport keeps a multiple of what is in
 * flight in buffers not yet collected.
 */
export const UNWRITTEN_BYTES = 16 << 20;
/** Scanned entries written per commit. */
const SCAN_COMMIT_EVERY = 500;
/** Paths a waiting scan gathers before it becomes a full scan. */
const MAX_WAITING_PATHS = 10_000;

/** How a folder runner works. */
export interface FolderRunnerOptions {
  /** This device's short ID, for new versions. */
  readonly shortId: string;
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** Ignore common OS junk besides `.fsyncignore` (default true). */
  readonly ignoreDefaults?: boolean;
  readonly mode?: FolderMode;
  /** Told when the ignore rules or the mode change what the folder takes from peers (pull again then). */
  readonly onPolicyChanged?: () => void;
  /** Told how a pull pass with work to do advances (at its start, at most every 200 ms, and at its end). */
  readonly onPullProgress?: (progress: PullProgress) => void;
  /** Bounds the bytes fetched and not yet written, shared with the device's other folders (default: its own). */
  readonly unwritten?: ByteBudget;
  /** When a scan's deletions wait for `confirmDeletes()` (default DEFAULT_DELETION_THRESHOLDS). */
  readonly deletionThresholds?: DeletionThresholds;
  /** The file system scans and pulls use (default the real one). */
  readonly fs?: FileSystem;
  /** Told when the folder stops (its root unusable: false) and when it resumes (true). */
  readonly onRootChanged?: (usable: boolean) => void;
  /**
   * How long deletions found by scans of some paths (watcher hints) wait, seen gone, before
   * they are committed (lib/plan's holdFreshDeletions; default 0: at once). Whoever sets it
   * scans `heldDeletions` again once they are due.
   */
  readonly deletionGraceMs?: number;
}

/**
 * Why a folder does not sync as usual: `stopped` (its root looks unmounted or replaced:
 * nothing is scanned, deleted or written) or `deletions-held` (a big deletion waits for
 * `fsync folder confirm-deletes`; everything else syncs).
 */
export interface FolderProblem {
  readonly kind: "stopped" | "deletions-held";
  readonly message: string;
}

/**
 * One folder on this device: scans it into the local index and applies peers' versions to
 * it. Scans and pulls never overlap. `localChanged` wakes index senders after a commit.
 */
export class FolderRunner {
  readonly localChanged: Signal = new Signal();
  #folder: FolderRecord;
  #deletions: DeletionHold;
  /** Set while the root cannot be used; cleared by a scan that finds the marker again. */
  #stopped?: string;
  /** Set while a big deletion waits; a full scan recomputes it, a confirmation clears it. */
  #store: Store;
  #shortId: string;
  #logger: Logger;
  #nowMs: () => number;
  #mutex = new Mutex();
  #recent = new Set<string>();
  #deletionGraceMs: number;
  /** Paths scans of some paths found gone and hold back, with when each was first seen gone. */
  #goneSince = new Map<string, number>();
  #waitingScan?: { paths?: Set<string>; done: Promise<number> };
  #ignoreDefaults: boolean;
  #onPullProgress?: (progress: PullProgress) => void;
  #onPolicyChanged?: () => void;
  #onRootChanged?: (usable: boolean) => void;
  #unwritten: ByteBudget;
  #fs: FileSystem;
  #mode: FolderMode;
  #rules: IgnoreRules;
  /** Counts changes of the rules or the mode; a pull made under an older policy is redone in full. */
  #policyGeneration = 0;
  #temps: TempKeeper;
  #pathProblems = new PathProblems();

  constructor(folder: FolderRecord, store: Store, options: FolderRunnerOptions) {
    this.#folder = folder;
    this.#deletions = new DeletionHold(
      () => this.folder,
      options.deletionThresholds ?? DEFAULT_DELETION_THRESHOLDS,
      options.logger,
      {
        entries: (paths) => this.#store.getLocalMany(this.folder.id, paths),
        blockPlaces: (hash) => this.#store.findBlock(this.folder.id, hash),
      },
    );
    this.#store = store;
    this.#shortId = options.shortId;
    this.#logger = options.logger;
    this.#nowMs = options.nowMs;
    this.#ignoreDefaults = options.ignoreDefaults ?? true;
    this.#onPullProgress = options.onPullProgress;
    this.#onPolicyChanged = options.onPolicyChanged;
    this.#onRootChanged = options.onRootChanged;
    this.#deletionGraceMs = options.deletionGraceMs ?? 0;
    this.#unwritten = options.unwritten ?? new Semaphore(UNWRITTEN_BYTES);
    this.#fs = options.fs ?? denoFs;
    this.#temps = new TempKeeper(store, this.#fs, () => this.folder, () => this.decider);
    this.#mode = options.mode ?? "send-receive";
    this.#rules = this.#readRules() ?? new IgnoreRules("", this.#ignoreDefaults);
  }

  /** The folder's record (it changes once, when the marker is first made). */
  get folder(): FolderRecord {
    return this.#folder;
  }

  /** Why the folder does not sync as usual, if it does not. */
  get problem(): FolderProblem | undefined {
    if (this.#stopped) return { kind: "stopped", message: this.#stopped };
    const held = this.#deletions.held;
    if (held) return { kind: "deletions-held", message: held };
    return undefined;
  }

  /** Forgets what pulls from `peerId` could not sync (the peer was revoked: nothing more comes from it). */
  forgetPeer(peerId: string): void {
    this.#pathProblems.settle(`pull:${peerId}`, undefined, new Set());
  }

  /** The paths that cannot be synced now (the first `limit`, in path order), and how many there are. */
  pathProblems(limit?: number): { count: number; list: PathProblem[] } {
    return { count: this.#pathProblems.size, list: this.#pathProblems.list(limit) };
  }

  /**
   * Records a path that cannot be synced, saying so in the log only when it is new or its
   * reason changed (retries meet the same problem again and again).
   */
  #pathProblem(problem: ScanProblem, peerId?: string): void {
    if (!this.#pathProblems.set(problem.path, problem.message, peerId ? `pull:${peerId}` : "scan")) return;
    const context = { folder: this.folder.label, peer: peerId && shortOfDisplayId(peerId) };
    const line = printable(`${problem.path}: ${problem.message}`);
    this.#logger.warn(peerId ? `cannot sync ${line}` : line, context);
  }

  /** Send-only folders pull nothing; receive-only ones let a peer's edit win every conflict. */
  get mode(): FolderMode {
    return this.#mode;
  }

  /** Changes the mode; peers' entries are looked at again in full by the next pulls. */
  setMode(mode: FolderMode): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    this.#policyChanged();
  }

  /** Changes whenever what `decider` decides may change: rules, mode, the root stopped or back. */
  get policyGeneration(): number {
    return this.#policyGeneration;
  }

  /**
   * Names what the folder's decisions depend on (mode, ignore rules and defaults): a pull
   * made under another key may have skipped entries wanted now.
   */
  get policyKey(): string {
    return JSON.stringify([this.#mode, this.#ignoreDefaults, this.#rules.text]);
  }

  /** How the folder decides about peers' entries under its current rules and mode. */
  get decider(): Decider {
    const rules = this.#rules;
    return folderDecider((path, isDirectory) => rules.ignores(path, isDirectory), this.#shortId, this.#mode);
  }

  /** The `.fsyncignore` rules on disk, or undefined (said once) when the file cannot be read. */
  #readRules(): IgnoreRules | undefined {
    try {
      return loadIgnoreRules(this.folder.path, this.#ignoreDefaults);
    } catch (e) {
      this.#logger.warn(`cannot read .fsyncignore: ${(e as Error).message}; the previous rules stay`, {
        folder: this.folder.label,
      });
      return undefined;
    }
  }

  /** Reads `.fsyncignore` again; true when the rules changed. */
  #reloadRules(): boolean {
    const rules = this.#readRules();
    if (!rules || rules.text === this.#rules.text) return false;
    this.#rules = rules;
    this.#logger.info("the ignore rules changed", { folder: this.folder.label });
    this.#policyChanged();
    return true;
  }

  #policyChanged(): void {
    this.#policyGeneration++;
    this.#onPolicyChanged?.();
  }

  /** True when files seen by a scan may still have been changing: `recheckRecent()` is due in RECENT_MS. */
  get hasRecent(): boolean {
    return this.#recent.size > 0;
  }

  /** The deletions scans hold back (`deletionGraceMs`) and in how long the first is due, if any. */
  get heldDeletions(): { readonly paths: string[]; readonly dueInMs: number } | undefined {
    if (this.#goneSince.size === 0) return undefined;
    let first = Infinity;
    for (const since of this.#goneSince.values()) first = Math.min(first, since);
    return { paths: [...this.#goneSince.keys()], dueInMs: Math.max(0, first + this.#deletionGraceMs - this.#nowMs()) };
  }

  /** Reads again the files that were recent when last scanned; returns the number of changed paths. */
  recheckRecent(): Promise<number> {
    const paths = this.#recent;
    this.#recent = new Set();
    return this.scan([...paths], paths);
  }

  /**
   * Scans the folder (or only `paths`, from watcher hints) and records what changed;
   * `recheck` names files to read even if their stat looks unchanged.
   * Returns the number of changed paths.
   */
  scan(paths?: readonly string[], recheck?: ReadonlySet<string>): Promise<number> {
    return this.#mutex.run(() => this.#scan(paths, recheck));
  }

  /**
   * Like `scan(paths)`, but requests made while the folder is busy (a pull writing thousands
   * of files makes as many watcher hints) join the one scan still waiting, instead of queueing
   * a scan each; past MAX_WAITING_PATHS paths it becomes a full scan, so memory stays bounded.
   */
  requestScan(paths?: readonly string[]): Promise<number> {
    const waiting = this.#waitingScan;
    if (waiting) {
      if (!paths) waiting.paths = undefined;
      else if (waiting.paths) { for (const p of paths) waiting.paths.add(p); }
      if (waiting.paths && waiting.paths.size > MAX_WAITING_PATHS) waiting.paths = undefined;
      return waiting.done;
    }
    const request: { paths?: Set<string>; done: Promise<number> } = {
      paths: paths && new Set(paths),
      done: this.#mutex.run(() => {
        if (this.#waitingScan === request) this.#waitingScan = undefined;
        return this.#scan(request.paths && [...request.paths]);
      }),
    };
    this.#waitingScan = request;
    return request.done;
  }

  /**
   * Scans the whole folder and commits its deletions however big they are (`fsync folder
   * confirm-deletes`). Returns the number of changed paths.
   */
  confirmDeletes(): Promise<number> {
    return this.#mutex.run(() => this.#scan(undefined, undefined, true));
  }

  /**
   * Takes the root as it is, even empty (`fsync folder rescan --accept-empty`): makes it and
   * its marker, then scans and commits every deletion found. Returns the number of changed paths.
   */
  acceptEmpty(): Promise<number> {
    return this.#mutex.run(async () => {
      try {
        await Deno.mkdir(this.folder.path, { recursive: true });
        await writeMarker(this.folder.path);
      } catch (e) {
        throw new FsyncError(`cannot make ${this.folder.path}: ${(e as Error).message}`, ExitCode.io, { cause: e });
      }
      return await this.#scan(undefined, undefined, true);
    });
  }

  /**
   * Whether the root may be used, marking it first when it never was (a new folder, or a
   * home from before markers). Stops the folder when not; a folder stopped before resumes
   * (peers' entries are looked at again in full) and returns "resumed".
   */
  async #useRoot(): Promise<boolean | "resumed"> {
    const root = await observeRoot(this.folder, async () => {
      for await (const f of this.#store.listLocal(this.folder.id)) if (!f.deleted) return false;
      return true;
    });
    const verdict = rootVerdict(root);
    if (verdict === "stop") {
      this.#stop(stoppedMessage(this.folder, root.exists));
      return false;
    }
    if (verdict === "mark") {
      await writeMarker(this.folder.path);
      this.#logger.info(`made the folder marker in ${this.folder.path}`, { folder: this.folder.label });
    }
    if (this.folder.marked !== true) {
      this.#folder = { ...this.folder, marked: true };
      await this.#store.putFolder(this.#folder);
    }
    if (this.#stopped === undefined) return true;
    this.#stopped = undefined;
    this.#logger.info(`the folder root is back: syncing again`, { folder: this.folder.label });
    this.#onRootChanged?.(true);
    this.#policyChanged();
    return "resumed";
  }

  #stop(message: string): void {
    if (this.#stopped === message) return;
    const wasRunning = this.#stopped === undefined;
    this.#stopped = message;
    this.#logger.warn(message, { folder: this.folder.label });
    if (wasRunning) this.#onRootChanged?.(false);
  }

  async #scan(paths?: readonly string[], recheck?: ReadonlySet<string>, confirm = false): Promise<number> {
    const { id, path: root } = this.folder;
    const usable = await this.#useRoot();
    if (!usable) {
      this.#goneSince.clear(); // a stopped folder deletes nothing; the full scan on resuming decides
      return 0;
    }
    // Hints gathered while stopped were dropped; new rules may unignore paths anywhere.
    const rulesChanged = this.#reloadRules();
    if (usable === "resumed" || rulesChanged) paths = undefined;
    const rules = this.#rules;
    let batch: FileInfo[] = [];
    let changed = 0;
    // From the first tombstone on, entries wait for the deletion guard, in scan order.
    let deferred: FileInfo[] | undefined;
    const temps: string[] = [];
    const found = new Set<string>();
    // A batch is written while the scan goes on, at most one commit behind it.
    let writing: Promise<void> = Promise.resolve();
    const commit = async () => {
      if (batch.length === 0) return;
      const files = batch;
      batch = [];
      await writing;
      writing = this.#store.commitLocal(id, files).then(() => void (changed += files.length));
      writing.catch(() => {}); // awaited below; this only keeps a failure from being "unhandled" meanwhile
    };
    const scan = scanFolder({
      root,
      fs: this.#fs,
      shortId: this.#shortId,
      nowMs: this.#nowMs,
      index: {
        getMany: (paths) => this.#store.getLocalMany(id, paths),
        listUnder: (prefix) => this.#store.listLocalUnder(id, prefix),
      },
      onProblem: (p) => {
        found.add(p.path);
        this.#pathProblem(p);
      },
      onTempFile: (path) => temps.push(path),
      onRecent: (path) => this.#recent.add(path),
      ignores: (path, isDirectory) => rules.ignores(path, isDirectory),
      paths,
      recheck,
    });
    for await (const file of scan) {
      if (file.deleted) deferred ??= [];
      if (deferred) {
        deferred.push(file);
        continue;
      }
      batch.push(file);
      if (batch.length >= SCAN_COMMIT_EVERY) await commit();
    }
    let guarded: FileInfo[];
    let rescanInFull = false;
    if (deferred?.length && !hasMarker(root)) {
      // The marker went away during the scan: the root is being unmounted or removed.
      this.#stop(stoppedMessage(this.folder, true));
      guarded = deferred.filter((f) => !f.deleted);
    } else {
      // The guard looks for deleted files' content in the index: what the scan found first is in it.
      await commit();
      await writing;
      ({ commit: guarded, rescanInFull } = await this.#deletions.guard(deferred ?? [], {
        full: paths === undefined,
        confirm,
        countLive: async () => {
          let live = 0;
          for await (const f of this.#store.listLocal(id)) if (!f.deleted && f.type !== "directory") live++;
          return live;
        },
      }));
    }
    if (paths === undefined) this.#goneSince.clear(); // a full scan commits what it finds gone
    else {
      const hinted = new Set(paths);
      ({ commit: guarded, goneSince: this.#goneSince } = holdFreshDeletions(
        guarded,
        (path) => isAtOrUnder(path, hinted),
        this.#goneSince,
        this.#nowMs(),
        this.#deletionGraceMs,
      ));
    }
    for (const file of guarded) {
      batch.push(file);
      if (batch.length >= SCAN_COMMIT_EVERY) await commit();
    }
    await commit();
    await writing;
    if (changed > 0) this.localChanged.notify();
    this.#pathProblems.settle("scan", paths, found);
    await this.#temps.sweep(temps);
    // Its deletions may be one end of a move: a full scan sees both ends and decides.
    return rescanInFull ? changed + await this.#scan(undefined, recheck, confirm) : changed;
  }

  /**
   * Applies what a peer's index holds that this device does not, fetching from `source`.
   * With `after` (an earlier clean pass), looks only at the peer's entries that came with a
   * sequence above it, unless the policy changed since; without, at the whole index.
   */
  pullFrom(peerId: string, source: BlockSource, after?: PulledUpTo): Promise<PullResult> {
    return this.#mutex.run(() => this.#pull(peerId, source, after));
  }

  async #pull(peerId: string, source: BlockSource, after: PulledUpTo | undefined): Promise<PullResult> {
    const { path: root } = this.folder;
    if (this.#mode === "send-only") return noPull([]);
    // A stopped folder's root may be an empty mount point: a peer's files must not fill it.
    if (this.#stopped === undefined && this.folder.marked !== true) await this.#useRoot();
    else if (this.#stopped === undefined && !hasMarker(root)) this.#stop(stoppedMessage(this.folder, true));
    if (this.#stopped !== undefined) return noPull([{ path: ".", message: this.#stopped }]);
    // Entries skipped under another policy may be wanted now.
    const since = after?.policy === this.policyKey ? after.sequence : undefined;
    return await runPullPass(
      {
        folder: this.folder,
        store: this.#store,
        fs: this.#fs,
        shortId: this.#shortId,
        nowMs: this.#nowMs,
        unwritten: this.#unwritten,
        temps: this.#temps,
        pathProblems: this.#pathProblems,
        decider: this.decider,
        localChanged: this.localChanged,
        onPullProgress: this.#onPullProgress,
        problem: (p) => this.#pathProblem(p, peerId),
        stop: () => {
          this.#stop(stoppedMessage(this.folder, true));
          return this.#stopped!;
        },
      },
      peerId,
      source,
      since,
    );
  }
}

/** Whether `path` is one of `places` (folder-relative) or below one. */
function isAtOrUnder(path: string, places: ReadonlySet<string>): boolean {
  for (let p = path;; p = parentPath(p)) {
    if (places.has(p)) return true;
    if (p === "") return false;
  }
}
