import { dirname, join } from "node:path";
import { type FileSystem, isOsError, tryRemove } from "../fs/mod.ts";
import {
  blockCount,
  blockLength,
  blockOffsets,
  contentHashOf,
  type Decision,
  equalBytes,
  type FileInfo,
  humanBytes,
  mtimeNsOf,
  sha256,
  TEMP_PREFIX,
  toHex,
} from "../model/mod.ts";
import { BlockMismatchError, ChangedLocallyError, DiskFullError } from "./errors.ts";
import { prepareParents } from "./safe_path.ts";
import { openTempFile } from "./temp_file.ts";
import type { TempLedger } from "./temp_ledger.ts";
import { blockMatches, fetchBlocks, type GatherOptions, reuseLocalBlocks } from "./block_gather.ts";

/** What the puller needs to apply decisions to one folder. */
export interface PullerOptions extends GatherOptions {
  /**
   * The entry the local version gets when a peer's wins and it is kept beside it (its name
   * and new version: lib/plan's conflictCopyOf); the puller renames it there.
   */
  readonly conflictCopy: (live: FileInfo) => FileInfo;
  /**
   * Takes the directory of each file renamed into place instead of fsyncing it at once; the
   * caller must fsync it before recording the entry (one fsync per directory for many files).
   */
  readonly syncDirectoryLater?: (dir: string) => void;
  /**
   * The folder's temporary files kept by failed pulls. A pull that fails keeps its temporary
   * file there when it holds anything (else removes it); one that succeeds, or fails after
   * writing something, replaces the one kept for its path, after mining it for blocks.
   */
  readonly temps: TempLedger;
}

/**
 * Carries out one decision on disk and returns the entries the local index must hold
 * afterwards (the path itself, and a conflict copy when one was made). Writes go through a
 * temporary file in the target's directory that is fsynced, verified and renamed into
 * place; the target is re-checked just before, so a user's change made meanwhile is never
 * overwritten (ChangedLocallyError, and the change is scanned instead).
 */
export async function applyDecision(
  options: PullerOptions,
  decision: Exclude<Decision, { action: "keep" }>,
  local: FileInfo | undefined,
): Promise<FileInfo[]> {
  const { file } = decision;
  switch (decision.action) {
    case "record":
      return [{ ...file, inode: local?.inode ?? 0 }];
    case "update-metadata": {
      const abs = prepareParents(options.fs, options.root, file.path);
      // A chmod or utime would reach every other path of the inode, maybe outside the folder:
      // such a file is rebuilt from its own verified blocks in a fresh file renamed over it.
      if (file.type === "file" && hasOtherLinks(options.fs, abs)) return await fetchEntry(options, file, local, false);
      expectUnchanged(options.fs, abs, local);
      setMetadata(options.fs, abs, file);
      return [{ ...file, inode: options.fs.lstatSync(abs).ino ?? 0 }];
    }
    case "delete": {
      const abs = prepareParents(options.fs, options.root, file.path);
      expectUnchanged(options.fs, abs, local);
      removeEntry(options.fs, abs, local);
      return [{ ...file, inode: 0 }];
    }
    case "fetch":
      return await fetchEntry(options, file, local, decision.keepLocalAsConflict);
  }
}

async function fetchEntry(
  options: PullerOptions,
  file: FileInfo,
  local: FileInfo | undefined,
  keepLocalAsConflict: boolean,
): Promise<FileInfo[]> {
  const abs = prepareParents(options.fs, options.root, file.path);
  const staged = file.type === "file" ? await stageFile(options, abs, file, local) : undefined;
  try {
    return await placeEntry(options, abs, file, local, keepLocalAsConflict, staged);
  } catch (e) {
    // Complete and verified (unless renamed into place before the failure): a retry of this
    // version renames it without reading a block.
    if (staged && exists(options.fs, staged.temp)) options.temps.keep(file.path, staged.temp);
    throw e;
  }
}

/** Puts the entry in place: its staged content renamed, or the directory or symlink made. */
async function placeEntry(
  options: PullerOptions,
  abs: string,
  file: FileInfo,
  local: FileInfo | undefined,
  keepLocalAsConflict: boolean,
  staged: { temp: string; ino: number } | undefined,
): Promise<FileInfo[]> {
  const { fs } = options;
  if (file.type === "directory" && !keepLocalAsConflict && isDirectory(fs, abs)) {
    // Already there (made as the parent of a file pulled earlier): nothing to lose.
    setMode(fs, abs, file);
    return [{ ...file, inode: fs.lstatSync(abs).ino ?? 0 }];
  }
  const live = local && !local.deleted ? local : undefined;
  // A new file is linked into place, which fails if anything got there meanwhile.
  if (file.type === "file" && !live && linkNew(fs, staged!.temp, abs)) {
    if (options.syncDirectoryLater) options.syncDirectoryLater(dirname(abs));
    else await syncDirectory(fs, dirname(abs));
    return [{ ...file, inode: staged!.ino }];
  }
  expectUnchanged(fs, abs, local);
  const out: FileInfo[] = [];
  if (live && keepLocalAsConflict) {
    const copy = options.conflictCopy(live);
    fs.renameSync(abs, join(options.root, copy.path));
    out.push(copy);
  } else if (live && live.type !== file.type) {
    removeEntry(fs, abs, live);
  }
  switch (file.type) {
    case "directory":
      fs.mkdirSync(abs, { recursive: true });
      setMode(fs, abs, file);
      break;
    case "symlink":
      if (live?.type === "symlink" && !keepLocalAsConflict) fs.removeSync(abs);
      fs.symlinkSync(file.symlinkTarget, abs);
      break;
    case "file":
      fs.renameSync(staged!.temp, abs);
      if (options.syncDirectoryLater) options.syncDirectoryLater(dirname(abs));
      else await syncDirectory(fs, dirname(abs));
      break;
  }
  // A renamed file keeps its inode: no need to look again.
  out.unshift({ ...file, inode: staged ? staged.ino : fs.lstatSync(abs).ino ?? 0 });
  return out;
}

/** The temporary name of a pull: fixed per path and content, so an interrupted pull resumes. */
export function tempPathFor(abs: string, file: FileInfo): string {
  const tag = toHex(sha256(new TextEncoder().encode(`${file.path}\0`)).subarray(0, 6)) +
    toHex(file.contentHash.subarray(0, 6));
  return join(dirname(abs), `${TEMP_PREFIX}${tag}`);
}

/**
 * Builds the new content in the temporary file: blocks already there from an interrupted
 * pull, then blocks of the old local version, of the temporary file an older version's pull
 * left and of other local files, then the rest from the peer, each verified. Returns the
 * temporary path, fsynced and with the entry's mode and mtime, and its inode.
 */
async function stageFile(
  options: PullerOptions,
  abs: string,
  file: FileInfo,
  local?: FileInfo,
): Promise<{ temp: string; ino: number }> {
  if (!equalBytes(contentHashOf(file.blockHashes), file.contentHash)) {
    throw new BlockMismatchError(`${file.path}: block list does not match its content hash`);
  }
  const temp = tempPathFor(abs, file);
  const kept = options.temps.get(file.path);
  const older = kept !== temp ? kept : undefined;
  let ino: number;
  try {
    await using handle = await openTempFile(options.fs, temp, file.size);
    const count = blockCount(file);
    const missing: number[] = [];
    const presentBytes = handle.opened.size;
    ino = handle.opened.ino;
    const offsets = blockOffsets(file);
    for (let i = 0; i < count; i++) {
      const end = offsets[i] + blockLength(file, i);
      if (end <= presentBytes && await blockMatches(handle, file, i, offsets[i])) continue;
      missing.push(i);
    }
    const bytes = missing.reduce((n, i) => n + blockLength(file, i), 0);
    ensureRoom(options.fs, { dir: dirname(temp), dev: handle.opened.dev }, bytes, file.path);
    const reused = await reuseLocalBlocks(options, file, local, older, handle, missing);
    const toFetch = missing.filter((i) => !reused.has(i));
    await fetchBlocks(options, file, handle, toFetch);
    // Every block was written or found there: only a longer leftover needs cutting.
    if (presentBytes > file.size) await handle.truncate(file.size);
    await handle.datasync();
    setMetadata(options.fs, temp, file);
  } catch (e) {
    await setAside(options.fs, options.temps, file.path, temp);
    if ((e as NodeJS.ErrnoException).code === "ENOSPC") { // Deno's and Node's file calls alike
      throw new DiskFullError(`disk full while writing ${file.path}`, { cause: e });
    }
    throw e;
  }
  options.temps.discard(file.path, temp);
  return { temp, ino };
}

/**
 * After a failed pull: its temporary file is kept for a resume when it holds a byte (and
 * replaces the one kept before), else removed (an older one stays for the next version).
 * Never throws for the disk: the pull's own error is the one to report, and a temporary
 * file that cannot be looked at or removed is left to the next scan.
 */
async function setAside(fs: FileSystem, temps: TempLedger, path: string, temp: string): Promise<void> {
  let size: number;
  try {
    size = (await fs.stat(temp)).size;
  } catch (e) {
    if (isOsError(e)) return;
    throw e;
  }
  if (size > 0) temps.keep(path, temp);
  else tryRemove(fs, temp);
}

/** How long a disk's free space, once read, is trusted (less what pulls took since). */
const FREE_SPACE_TRUSTED_MS = 1_000;
/** Free bytes read (statfs) per disk (device number), per FileSystem, and when. */
const freeSpace = new WeakMap<FileSystem, Map<number, { bytes: number; readAtMs: number }>>();

/**
 * Refuses to start writing a file the disk has no room for, so that it does not take the
 * space other files fit in (a full disk is still caught while writing). A disk's free space
 * is read at most once a second, and what pulls took since is subtracted meanwhile (a statfs
 * per small file would be a tenth of its file-system calls); a refusal always reads it again.
 *
 * @throws {DiskFullError} when fewer than `bytes` are free in `at.dir`, on the disk `at.dev`.
 */
function ensureRoom(fs: FileSystem, at: { dir: string; dev: number }, bytes: number, path: string): void {
  if (bytes === 0) return;
  let known = freeSpace.get(fs);
  if (!known) freeSpace.set(fs, known = new Map());
  const now = performance.now();
  let free = known.get(at.dev);
  if (!free || now - free.readAtMs > FREE_SPACE_TRUSTED_MS || bytes > free.bytes) {
    free = { bytes: fs.freeBytes(at.dir), readAtMs: now };
    known.set(at.dev, free);
  }
  if (bytes > free.bytes) {
    throw new DiskFullError(`disk full: ${path} needs ${humanBytes(bytes)} more, ${humanBytes(free.bytes)} free`);
  }
  free.bytes -= bytes;
}

/**
 * Fails with ChangedLocallyError unless the path still is what the local index says (or
 * absent when the index has nothing live there).
 */
function expectUnchanged(fs: FileSystem, abs: string, local: FileInfo | undefined): void {
  let st: Deno.FileInfo | undefined;
  try {
    st = fs.lstatSync(abs);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const live = local && !local.deleted ? local : undefined;
  if (!st && !live) return;
  const what = `${abs} changed on this device while syncing; it will be rescanned`;
  if (!st || !live) throw new ChangedLocallyError(what);
  const type = st.isDirectory ? "directory" : st.isSymlink ? "symlink" : "file";
  if (type !== live.type) throw new ChangedLocallyError(what);
  if (type === "file" && (st.size !== live.size || mtimeNsOf(st.mtime) !== live.mtimeNs || st.ino !== live.inode)) {
    throw new ChangedLocallyError(what);
  }
}

/** What link(2) fails with on a file system without hard links. */
const NO_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/**
 * Places the temporary file `temp` at `abs`, where nothing is expected, by linking it there
 * (which never replaces anything, atomically) and removing the temporary name (left to the
 * next scan if that fails: the file is in place). 3,000 placements cost 18 us each against 56-62
 * for a look that finds nothing (Deno builds an exception) and a rename. False when the file
 * system cannot link (vfat, some network ones): the caller looks and renames instead.
 *
 * @throws {ChangedLocallyError} when something is at `abs`.
 */
function linkNew(fs: FileSystem, temp: string, abs: string): boolean {
  try {
    fs.linkSync(temp, abs);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new ChangedLocallyError(`${abs} changed on this device while syncing; it will be rescanned`);
    }
    if (NO_LINKS.has((e as { code?: string }).code ?? "")) return false;
    throw e;
  }
  tryRemove(fs, temp);
  return true;
}

/** Whether anything is at `abs` (false too when it cannot be looked at). */
function exists(fs: FileSystem, abs: string): boolean {
  try {
    fs.lstatSync(abs);
    return true;
  } catch (e) {
    if (isOsError(e)) return false;
    throw e;
  }
}

function isDirectory(fs: FileSystem, abs: string): boolean {
  try {
    return fs.lstatSync(abs).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function removeEntry(fs: FileSystem, abs: string, local: FileInfo | undefined): void {
  try {
    // Never recursive: a directory with content fsync does not know of stays.
    fs.removeSync(abs);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    if (local?.type === "directory") {
      throw new ChangedLocallyError(`${abs} is not empty on this device; it is kept`, { cause: e });
    }
    throw e;
  }
}

/** True when `abs` is a file with more than one name (a hard link), false when absent. */
function hasOtherLinks(fs: FileSystem, abs: string): boolean {
  try {
    const st = fs.lstatSync(abs);
    return st.isFile && (st.nlink ?? 1) > 1;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Applies the entry's permission bits (0o777) and never a special bit from a peer. A file
 * ends with exactly the peer's bits, losing any setuid, setgid or sticky bit of its own (new
 * content always arrives in a fresh file; a setuid file kept setuid while a peer widens who
 * may run it would hand that power on). A directory keeps its own special bits: setgid and
 * sticky there are local policy for what is made inside, and grant no privilege.
 */
function setMode(fs: FileSystem, abs: string, file: FileInfo): void {
  const own = file.type === "directory" ? (fs.lstatSync(abs).mode ?? 0) & 0o7000 : 0;
  fs.chmodSync(abs, own | (file.mode & 0o777));
}

function setMetadata(fs: FileSystem, abs: string, file: FileInfo): void {
  if (file.type === "symlink") return;
  setMode(fs, abs, file);
  const ms = Number(file.mtimeNs / 1_000_000n);
  fs.utimeSync(abs, new Date(ms), new Date(ms));
}

/** Fsyncs a directory so a rename into it survives a crash. */
export async function syncDirectory(fs: FileSystem, dir: string): Promise<void> {
  using handle = await fs.open(dir, { read: true });
  await handle.sync();
}
