import { join } from "node:path";
import type { FileSystem } from "../fs/mod.ts";
import { type FileInfo, FsyncError, mtimeNsOf, parentPath, pathDepth } from "../model/mod.ts";
import { changesDisk, conflictCopyOf, countNeeds, type Decider, deletionOrder, stageOf } from "../plan/mod.ts";
import type { ScanProblem } from "../scan/mod.ts";
import type { FolderRecord, Store } from "../store/mod.ts";
import {
  applyDecision,
  type BlockSource,
  type ByteBudget,
  CaseCheck,
  ChangedLocallyError,
  DiskFullError,
  syncDirectory,
} from "../transfer/mod.ts";
import type { Signal } from "./_signal.ts";
import type { PathProblems } from "./path_problems.ts";
import type { TempKeeper } from "./temp_keeper.ts";
import { hasMarker } from "./folder_marker.ts";
import { PassBlockMap } from "./pass_block_map.ts";

/**
 * Files pulled at once; each keeps several blocks in flight of its own (UNWRITTEN_BYTES
 * bounds the data). Many at once let the disk group their fdatasyncs: 2,000 files of 8 KiB
 * were made durable in 343 ms 8 at a time and 142 ms 64 at a time here; a join of 2,000
 * small files took 7.4 s with 8 files at once and 5.3 s with 64. 32 did as well as 64, and
 * 64 raised the joiner's peak RSS in the mixed bench from 266-270 to 300 MiB.
 */
const FILES_IN_FLIGHT = 32;
/** Local index entries written per commit while pulling. */
const COMMIT_EVERY = 200;
/** How far a pull pass is: what it has to do, counted before it starts, and what it did. */
export interface PullProgress {
  readonly peerId: string;
  readonly filesTotal: number;
  readonly filesDone: number;
  /** Size of the files to fetch; reused bytes are found only while fetching. */
  readonly bytesTotal: number;
  readonly bytesFetched: number;
  readonly bytesReused: number;
  readonly done: boolean;
}

/** The least time between two progress reports of a pass. */
const PROGRESS_EVERY_MS = 200;

/** The outcome of one pass over a peer's index. */
export interface PullResult {
  /** Paths acted on (written, deleted, recorded). */
  readonly actions: number;
  /** Paths whose content or metadata changed on disk. */
  readonly written: number;
  /** Paths that failed this pass, with why; they are retried. */
  readonly problems: readonly ScanProblem[];
  readonly bytesFetched: number;
  readonly bytesReused: number;
  /** Paths found changed on this device while pulling: they need a scan. */
  readonly changedLocally: readonly string[];
}

/** What one pull pass uses of its folder runner (which runs passes and scans one at a time). */
export interface PullPassContext {
  readonly folder: FolderRecord;
  readonly store: Store;
  readonly fs: FileSystem;
  /** This device's short ID (conflict copies, directories it made). */
  readonly shortId: string;
  readonly nowMs: () => number;
  readonly unwritten: ByteBudget;
  readonly temps: TempKeeper;
  readonly pathProblems: PathProblems;
  readonly decider: Decider;
  /** Notified after each commit (index senders wake up). */
  readonly localChanged: Signal;
  readonly onPullProgress?: (progress: PullProgress) => void;
  /** Records (and says once) a path the pass could not sync. */
  problem(problem: ScanProblem): void;
  /** The root went away during the pass: stops the folder; returns why. */
  stop(): string;
}

/** The outcome of a pass that did nothing, with `problems` (a stopped folder says why, so it is retried). */
export function noPull(problems: ScanProblem[]): PullResult {
  return { actions: 0, written: 0, problems, bytesFetched: 0, bytesReused: 0, changedLocally: [] };
}

/**
 * One pass over a peer's index of a folder (from its sequence `after`, or the whole index):
 * decides each entry, carries the decisions out in the order lib/plan gives (directories,
 * files alongside each other, deletes deepest first, replacements), commits the local index
 * in batches after fsyncing the directories files were renamed into, restores directory
 * mtimes, tidies temporary files, and reports progress.
 */
export async function runPullPass(
  ctx: PullPassContext,
  peerId: string,
  source: BlockSource,
  after: number | undefined,
): Promise<PullResult> {
  const { id, path: root } = ctx.folder;
  const decider = ctx.decider;
  const problems: ScanProblem[] = [];
  let actions = 0;
  let written = 0;
  let bytesFetched = 0;
  let bytesReused = 0;
  const changedLocally: string[] = [];
  let pending: FileInfo[] = [];
  // Directories files were renamed into: fsynced once each before their entries are recorded.
  const unsynced = new Set<string>();
  const commit = async () => {
    if (pending.length === 0) return;
    const files = pending;
    pending = [];
    const dirs = [...unsynced];
    unsynced.clear();
    for (const dir of dirs) await syncDirectory(ctx.fs, dir);
    await ctx.store.commitLocal(id, files);
    blockMap.committed(files);
    ctx.localChanged.notify();
  };
  const blockMap = await PassBlockMap.open({
    hasBlocks: () => ctx.store.hasBlocks(id),
    findBlock: (hash) => ctx.store.findBlock(id, hash),
  });
  const options = {
    root,
    source,
    conflictCopy: (live: FileInfo) => conflictCopyOf(live, new Date(ctx.nowMs()), ctx.shortId),
    onProgress: (fetched: number, reused: number) => {
      bytesFetched += fetched;
      bytesReused += reused;
      report(false);
    },
    findBlock: (hash: Uint8Array) => blockMap.find(hash),
    anyLocalBlock: () => blockMap.any(),
    syncDirectoryLater: (dir: string) => unsynced.add(dir),
    unwritten: ctx.unwritten,
    fs: ctx.fs,
    temps: ctx.temps.ledger,
  };
  let diskFull = false;
  let stopped = false;
  const failed = new Set<string>();
  const problem = (p: ScanProblem) => {
    problems.push(p);
    failed.add(p.path);
    ctx.problem(p);
  };
  const apply = async (decision: Parameters<typeof applyDecision>[1], local: FileInfo | undefined) => {
    if (diskFull) return; // the rest waits for the retry, once there is room
    if (stopped) return;
    if (decision.action !== "record" && !hasMarker(root)) {
      // The root went away during the pass: the rest waits until it is back.
      stopped = true;
      problems.push({ path: ".", message: ctx.stop() });
      return;
    }
    try {
      // Not `pending.push(...await ...)`: that would push into the array a concurrent
      // commit has already swapped out, losing the entry.
      const entries = await applyDecision(options, decision, local);
      pending.push(...entries);
      ctx.pathProblems.clear(decision.file.path, `pull:${peerId}`);
      if (decision.action !== "record") {
        written++;
        report(false);
        touchedDirs.add(parentPath(decision.file.path));
        if (decision.file.type === "directory") touchedDirs.add(decision.file.path);
      }
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      if (e instanceof DiskFullError) diskFull = true;
      if (e instanceof ChangedLocallyError) changedLocally.push(decision.file.path);
      const hint = e instanceof FsyncError && e.hint ? ` (${e.hint})` : "";
      problem({ path: decision.file.path, message: e.message + hint });
    }
    if (pending.length >= COMMIT_EVERY) await commit();
  };
  // Directory mtimes are restored once their content is written, deepest first.
  const touchedDirs = new Set<string>();
  const running = new Set<Promise<void>>();
  type Deferred = { decision: Parameters<typeof applyDecision>[1]; local: FileInfo | undefined };
  const deletes: (Deferred & { file: FileInfo })[] = [];
  const replacements: Deferred[] = [];
  const cases = new CaseCheck(ctx.fs, root);
  const pairs = () =>
    after === undefined ? ctx.store.pairWithRemote(id, peerId) : ctx.store.remoteAfter(id, peerId, after);
  // What the pass has to do, counted first when someone follows the progress.
  const counted = ctx.onPullProgress ? await countNeeds(pairs(), decider) : { files: 0, bytes: 0 };
  // The index may grow between the count and the pass: what the pass meets raises the totals.
  let metFiles = 0;
  let metBytes = 0;
  let lastReport = 0;
  const report = (done: boolean) => {
    const filesTotal = Math.max(counted.files, metFiles);
    const bytesTotal = Math.max(counted.bytes, metBytes);
    if (!ctx.onPullProgress || filesTotal === 0) return;
    const now = performance.now();
    if (!done && now - lastReport < PROGRESS_EVERY_MS) return;
    lastReport = now;
    const filesDone = Math.min(written, filesTotal);
    ctx.onPullProgress({ peerId, filesTotal, filesDone, bytesTotal, bytesFetched, bytesReused, done });
  };
  report(false);
  for await (const { local, remote } of pairs()) {
    // Undecided (ignored here): neither written nor deleted, whatever the peer did.
    const decision = remote && decider(local, remote);
    if (!decision) continue;
    if (decision.action === "fetch" && (!local || local.deleted)) {
      try {
        cases.reserve(decision.file.path);
      } catch (e) {
        if (!(e instanceof FsyncError)) throw e;
        problem({ path: decision.file.path, message: `${e.message} (${e.hint})` });
        continue;
      }
    }
    const kept = decision.action === "keep" ? local ?? remote : decision.file;
    if (kept.type === "directory" && !kept.deleted) {
      // A peer's directory gets the peer's time back even if an earlier pass died before
      // restoring it (its entry is current, so nothing else would touch it).
      if (kept.modifiedBy !== ctx.shortId) touchedDirs.add(kept.path);
    }
    if (decision.action === "keep") {
      ctx.pathProblems.clear(remote.path, `pull:${peerId}`);
      continue;
    }
    actions++;
    if (changesDisk(decision)) {
      metFiles++;
      if (decision.action === "fetch") metBytes += decision.file.size;
    }
    switch (stageOf(decision, local)) {
      case "delete":
        deletes.push({ file: decision.file, decision, local });
        break;
      case "replace":
        replacements.push({ decision, local });
        break;
      case "parallel": {
        const task = apply(decision, local).finally(() => running.delete(task));
        running.add(task);
        if (running.size >= FILES_IN_FLIGHT) await Promise.race(running);
        break;
      }
      case "in-order":
        await apply(decision, local);
    }
  }
  await Promise.all(running);
  for (const { decision, local } of deletionOrder(deletes)) await apply(decision, local);
  for (const { decision, local } of replacements) await apply(decision, local);
  await commit();
  await restoreDirectoryTimes(ctx, touchedDirs);
  await ctx.temps.tidy();
  // A whole pass looked at every path again: what it did not find is fine now.
  if (after === undefined && !diskFull && !stopped) ctx.pathProblems.settle(`pull:${peerId}`, undefined, failed);
  report(true);
  return { actions, written, problems, bytesFetched, bytesReused, changedLocally };
}

/** Gives directories whose content a pull changed back the mtime their (committed) local entry holds. */
async function restoreDirectoryTimes(ctx: PullPassContext, dirs: Set<string>): Promise<void> {
  const deepestFirst = [...dirs].filter((d) => d !== "").sort((a, b) => pathDepth(b) - pathDepth(a));
  for (let start = 0; start < deepestFirst.length; start += 500) {
    const paths = deepestFirst.slice(start, start + 500);
    for (const entry of await ctx.store.getLocalMany(ctx.folder.id, paths)) {
      if (!entry || entry.deleted || entry.type !== "directory") continue;
      const abs = join(ctx.folder.path, entry.path);
      const when = new Date(Number(entry.mtimeNs / 1_000_000n));
      try {
        if (mtimeNsOf(ctx.fs.lstatSync(abs).mtime) !== entry.mtimeNs) ctx.fs.utimeSync(abs, when, when);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
  }
}
