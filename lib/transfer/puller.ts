import { dirname, join, relative } from "node:path";
import { type FileHandle, type FileSystem, isOsError, readFull, tryRemove } from "../fs/mod.ts";
import {
  blockCount,
  blockHash,
  blockLength,
  type BlockWant,
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
import { openTempFile, type TempFile } from "./temp_file.ts";
import type { TempLedger } from "./temp_ledger.ts";

/** Requests for one file sent to the peer at once. */
const REQUESTS_IN_FLIGHT = 16;
/**
 * Consecutive missing blocks are asked for in one request of up to this many bytes (the
 * protocol's limit): per request costs dominate at 128 KiB, and each block is still
 * verified on its own.
 */
const SPAN_BYTES = 1 << 20;
/** Block-map lookups made at once (a new 4 GiB file makes 4,096 of them before fetching). */
const LOOKUPS_AT_ONCE = 64;

/** Where missing blocks come from (a peer session satisfies it). */
export interface BlockSource {
  /** The block's bytes, unverified. Rejects when the peer cannot serve it. */
  fetchBlock(want: BlockWant): Promise<Uint8Array>;
}

/** What the puller needs to apply decisions to one folder. */
export interface PullerOptions {
  /** Absolute path of the folder. */
  readonly root: string;
  readonly source: BlockSource;
  /**
   * The entry the local version gets when a peer's wins and it is kept beside it (its name
   * and new version: lib/plan's conflictCopyOf); the puller renames it there.
   */
  readonly conflictCopy: (live: FileInfo) => FileInfo;
  /** Called as bytes arrive (fetched from the peer, or reused from local data). */
  readonly onProgress?: (fetched: number, reused: number) => void;
  /**
   * Local files that may hold a block with this hash (path relative to the folder, offset):
   * the block map. Candidates are verified before use.
   */
  readonly findBlock?: (hash: Uint8Array) => Promise<readonly { path: string; offset: number }[]>;
  /**
   * Takes the directory of each file renamed into place instead of fsyncing it at once; the
   * caller must fsync it before recording the entry (one fsync per directory for many files).
   */
  readonly syncDirectoryLater?: (dir: string) => void;
  /**
   * Bounds the bytes fetched and not yet written, across every file pulled at once: taken
   * before a request, given back once its data is written (the session's own bound ends
   * when the data arrives, and writes may lag behind arrivals).
   */
  readonly unwritten?: ByteBudget;
  /** Every file-system call goes through it (a sandboxed command's symlinks are made for it). */
  readonly fs: FileSystem;
  /**
   * The folder's temporary files kept by failed pulls. A pull that fails keeps its temporary
   * file there when it holds anything (else removes it); one that succeeds, or fails after
   * writing something, replaces the one kept for its path, after mining it for blocks.
   */
  readonly temps: TempLedger;
}

/** A bound on bytes in use (a semaphore). */
export interface ByteBudget {
  acquire(bytes: number): Promise<void>;
  release(bytes: number): void;
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
  expectUnchanged(fs, abs, local);
  const out: FileInfo[] = [];
  const live = local && !local.deleted ? local : undefined;
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
    const present = await handle.stat();
    const presentBytes = present.size;
    ino = present.ino;
    for (let i = 0; i < count; i++) {
      const end = i * file.blockSize + blockLength(file, i);
      if (end <= presentBytes && await blockMatches(handle, file, i)) continue;
      missing.push(i);
    }
    ensureRoom(options.fs, temp, missing.reduce((n, i) => n + blockLength(file, i), 0), file.path);
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

/**
 * Refuses to start writing a file the disk has no room for, so that it does not take the
 * space other files fit in (a full disk is still caught while writing).
 *
 * @throws {DiskFullError} when fewer than `bytes` are free next to `temp`.
 */
function ensureRoom(fs: FileSystem, temp: string, bytes: number, path: string): void {
  const free = fs.freeBytes(dirname(temp));
  if (bytes > free) {
    throw new DiskFullError(`disk full: ${path} needs ${humanBytes(bytes)} more, ${humanBytes(free)} free`);
  }
}

async function blockMatches(handle: TempFile, file: FileInfo, i: number): Promise<boolean> {
  const length = blockLength(file, i);
  const buffer = new Uint8Array(length);
  const bytesRead = await handle.read(buffer, i * file.blockSize);
  return bytesRead === length && equalBytes(sha256(buffer), blockHash(file, i));
}

/** Where a block may be found on this device (folder-relative path and offset). */
type BlockCandidate = { readonly path: string; readonly offset: number };

/**
 * Copies the missing blocks this device already holds: first from the old version of the
 * same file, then from the temporary file `older` (absolute) of an unfinished pull of another
 * version at the same offset, then from any other local file the block map names (a renamed,
 * moved or copied file, or a shared block). Every block is verified before it is written.
 * Returns the indexes done.
 */
async function reuseLocalBlocks(
  options: PullerOptions,
  file: FileInfo,
  local: FileInfo | undefined,
  older: string | undefined,
  handle: TempFile,
  missing: readonly number[],
): Promise<Set<number>> {
  const oldOffsets = new Map<string, number>();
  if (local && !local.deleted && local.type === "file") {
    for (let i = 0; i < blockCount(local); i++) oldOffsets.set(toHex(blockHash(local, i)), i * local.blockSize);
  }
  const olderPath = older && relative(options.root, older);
  const candidatesFor = async (i: number): Promise<BlockCandidate[]> => {
    const hash = blockHash(file, i);
    const at = oldOffsets.get(toHex(hash));
    const old = at === undefined ? [] : [{ path: file.path, offset: at }];
    const unfinished = olderPath ? [{ path: olderPath, offset: i * file.blockSize }] : [];
    const elsewhere = options.findBlock ? await options.findBlock(hash) : [];
    return [...old, ...unfinished, ...elsewhere.filter((c) => c.path !== file.path)];
  };
  const done = new Set<number>();
  const sources = new LocalSources(options.fs, options.root);
  try {
    for (let start = 0; start < missing.length; start += LOOKUPS_AT_ONCE) {
      const batch = missing.slice(start, start + LOOKUPS_AT_ONCE);
      const found = await Promise.all(batch.map(candidatesFor));
      for (const [k, i] of batch.entries()) {
        const block = await sources.firstVerified(found[k], blockHash(file, i), blockLength(file, i));
        if (!block) continue;
        await handle.write(block, i * file.blockSize);
        done.add(i);
        options.onProgress?.(0, block.length);
      }
    }
  } finally {
    sources.close();
  }
  return done;
}

/**
 * Local files read for block reuse, each opened once. One that cannot be opened or read (gone
 * or changed since indexed, unreadable, failing) is skipped: its blocks come from the peer.
 */
class LocalSources {
  #fs: FileSystem;
  #root: string;
  #open = new Map<string, FileHandle | null>();

  constructor(fs: FileSystem, root: string) {
    this.#fs = fs;
    this.#root = root;
  }

  /** The bytes of the first candidate that still holds the block with `hash`, if any. */
  async firstVerified(candidates: readonly BlockCandidate[], hash: Uint8Array, length: number) {
    for (const candidate of candidates) {
      const source = await this.#handle(candidate.path);
      if (!source) continue;
      const buffer = new Uint8Array(length);
      try {
        await source.seek(candidate.offset, Deno.SeekMode.Start);
        if (await readFull(source, buffer) !== length) continue;
      } catch (e) {
        if (!isOsError(e)) throw e;
        this.#open.set(candidate.path, null);
        source.close();
        continue;
      }
      if (equalBytes(sha256(buffer), hash)) return buffer;
    }
    return undefined;
  }

  async #handle(path: string): Promise<FileHandle | null> {
    let source = this.#open.get(path);
    if (source === undefined) {
      try {
        source = await this.#fs.open(join(this.#root, path), { read: true });
      } catch (e) {
        if (!isOsError(e)) throw e;
        source = null;
      }
      this.#open.set(path, source);
    }
    return source;
  }

  close(): void {
    for (const source of this.#open.values()) source?.close();
  }
}

/** Fetches blocks from the peer, runs of consecutive ones in one request, several requests in flight; verifies each block before writing. */
async function fetchBlocks(
  options: PullerOptions,
  file: FileInfo,
  handle: TempFile,
  indexes: readonly number[],
): Promise<void> {
  const spans = spansOf(file, indexes);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < spans.length && !failed) {
      const { first, count } = spans[next++];
      const offset = first * file.blockSize;
      const size = Math.min(count * file.blockSize, file.size - offset);
      await options.unwritten?.acquire(size);
      try {
        const data = await options.source.fetchBlock({ path: file.path, offset, size, hash: blockHash(file, first) });
        for (let i = first, at = 0; i < first + count; at += blockLength(file, i), i++) {
          const block = data.subarray(at, at + blockLength(file, i));
          if (data.length !== size || !equalBytes(sha256(block), blockHash(file, i))) {
            throw new BlockMismatchError(
              `${file.path}: block at offset ${i * file.blockSize} from the peer does not match its hash (rejected)`,
            );
          }
        }
        await handle.write(data, offset);
      } finally {
        options.unwritten?.release(size);
      }
      options.onProgress?.(size, 0);
    }
  };
  const workers = Math.min(REQUESTS_IN_FLIGHT, spans.length);
  // Once one request fails the pull fails: the other workers ask for nothing more, and the
  // pull ends once their requests under way have (their budget given back, their writes done).
  const ended = await Promise.allSettled(
    Array.from({ length: workers }, () => worker().catch((e) => (failed = true, Promise.reject(e)))),
  );
  const failure = ended.find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
}

/** Groups ascending block indexes into runs of consecutive blocks of at most SPAN_BYTES. */
function spansOf(file: FileInfo, indexes: readonly number[]): { first: number; count: number }[] {
  const perSpan = Math.max(1, Math.floor(SPAN_BYTES / file.blockSize));
  const spans: { first: number; count: number }[] = [];
  for (const i of indexes) {
    const last = spans[spans.length - 1];
    if (last && last.first + last.count === i && last.count < perSpan) last.count++;
    else spans.push({ first: i, count: 1 });
  }
  return spans;
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
