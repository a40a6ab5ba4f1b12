import { join } from "node:path";
import { type FileSystem, isOsError } from "../fs/mod.ts";
import {
  equalBytes,
  ExitCode,
  type FileInfo,
  FsyncError,
  humanBytes,
  increment,
  isTempName,
  MAX_FILE_SIZE,
  mtimeNsOf,
  PathEscapeError,
  validateRelativePath,
} from "../model/mod.ts";
import { FileChangedError, hashFile } from "./hash_file.ts";
import { KnownIndex, sameFileStat, statUnchanged, syncedMode } from "./known_index.ts";

/** What the scanner needs of the local index (the store satisfies it). */
export interface LocalIndex {
  /** Entries for these paths, in the same order (undefined where there is none). */
  getMany(paths: readonly string[]): Promise<(FileInfo | undefined)[]>;
  /** Every entry whose path starts with `prefix` ("" for all), in any order. */
  listUnder(prefix: string): AsyncIterable<FileInfo>;
}

/** Why a name that is not valid UTF-8 is not synced (Deno can neither name nor open it). */
const NOT_UTF8 = "not synced: its name is not valid UTF-8 (each byte that is not shows as U+FFFD); rename it";

/** An entry of a kind fsync does not replicate (FIFO, socket, device). */
class NotSyncedError extends Error {}

/** A path that could not be scanned; it keeps its previous index entry. */
export interface ScanProblem {
  readonly path: string;
  readonly message: string;
}

/** Inputs of one scan. */
export interface ScanOptions {
  /** Absolute path of the folder. */
  readonly root: string;
  /** Every file-system call goes through it. */
  readonly fs: FileSystem;
  readonly index: LocalIndex;
  /** Short ID of this device, for new versions. */
  readonly shortId: string;
  /** Reports a path that was skipped. */
  readonly onProblem: (problem: ScanProblem) => void;
  /** Current time in ms, for tombstones. */
  readonly nowMs: () => number;
  /** Told of each of fsync's temporary files met (relative path), which a scan never records. */
  readonly onTempFile?: (path: string) => void;
  /**
   * Rescan only these paths (watcher hints): each with its parents, a directory with its
   * whole subtree, a vanished path with everything under it. Absent: the whole folder.
   */
  readonly paths?: readonly string[];
  /**
   * Files to read again even if their size, mtime and inode look unchanged: they were
   * recorded while still recent, and a write in the same millisecond leaves no trace in the stat.
   */
  readonly recheck?: ReadonlySet<string>;
  /**
   * Told of each file modified within RECENT_MS of the scan, or changing while it was read:
   * it may still be being written, so it is to be scanned again (with `recheck`) later.
   */
  readonly onRecent?: (path: string) => void;
  /**
   * Whether a path is ignored: it is neither recorded nor, when the index already holds it,
   * tombstoned (its entry stays as it was, so peers neither get nor lose it).
   */
  readonly ignores?: (path: string, isDirectory: boolean) => boolean;
}

/**
 * How long after its last modification a file counts as possibly still changing. Deno
 * reports mtime to the millisecond only, and a second write within the same tick keeps the
 * stat unchanged (DENO-FACTS §6), so such files are read again once this has passed.
 */
export const RECENT_MS = 2_000;

/** Index entries a full scan reads at once to tombstone the paths it did not find. */
const TOMBSTONE_BATCH = 1000;

/** What one path looks like now, or why it cannot be said. */
type Observation =
  | { readonly kind: "present"; readonly file?: FileInfo; readonly isDirectory: boolean }
  | { readonly kind: "gone" }
  /** Unreadable, not syncable or still changing: its previous entry stays. */
  | { readonly kind: "kept" };

/**
 * Walks the folder (or the hinted paths) and yields a new local version for every path that
 * changed since the index last saw it (created, modified, type or mode changed) and a
 * tombstone for every indexed path that is gone. Parents come before their children. A
 * file whose size, mtime, inode and mode are unchanged is not read. Symlinks are recorded,
 * never followed; fsync's temporary files, ignored paths and entries other than files,
 * directories and symlinks are skipped. Sequences are left for the store to assign.
 *
 * @throws {FsyncError} (local IO) when the folder itself cannot be read.
 */
export async function* scanFolder(options: ScanOptions): AsyncGenerator<FileInfo> {
  const { root } = options;
  try {
    const info = await options.fs.stat(root);
    if (!info.isDirectory) throw new FsyncError(`${root} is not a directory`, ExitCode.io);
  } catch (e) {
    if (e instanceof FsyncError) throw e;
    throw new FsyncError(`cannot read folder ${root}: ${(e as Error).message}`, ExitCode.io, { cause: e });
  }
  const run = new ScanRun(options);
  if (options.paths === undefined) {
    run.known = await KnownIndex.load(options.index.listUnder(""));
    yield* run.walk("");
    yield* run.unwalkedTombstones();
    return;
  }
  for (const path of outermost(options.paths)) yield* run.rescan(path);
}

/** The hinted paths that are valid and not inside another hinted path, parents first. */
function outermost(paths: readonly string[]): string[] {
  const valid = [...new Set(paths)].filter((p) => {
    try {
      validateRelativePath(p);
      return true;
    } catch (e) {
      if (e instanceof PathEscapeError) return false; // a name the full scan reports
      throw e;
    }
  }).sort();
  const out: string[] = [];
  for (const p of valid) if (!out.some((q) => p.startsWith(q + "/"))) out.push(p);
  return out;
}

/** The state of one scan: what was seen, and which subtrees could not be read. */
class ScanRun {
  #options: ScanOptions;
  #seen = new Set<string>();
  /**
   * Paths this scan yielded a tombstone for: hinted paths below one vanished directory each
   * find it gone, and each path is deleted once (the index learns of it only after the scan).
   */
  #deleted = new Set<string>();
  #unreadable: string[] = [];
  /**
   * A full scan's view of the index, read with one listing: a path whose stat confirms its
   * print needs nothing more, and the prints no walk reached are the deleted paths.
   */
  known?: KnownIndex;

  constructor(options: ScanOptions) {
    this.#options = options;
  }

  /** Rescans one hinted path: its parents, itself, and below it. */
  async *rescan(path: string): AsyncGenerator<FileInfo> {
    const names = path.split("/");
    const ignores = this.#options.ignores ?? (() => false);
    for (let i = 1; i <= names.length; i++) {
      const current = names.slice(0, i).join("/");
      if (i < names.length && ignores(current, true)) return;
      const [previous] = await this.#options.index.getMany([current]);
      const observed = await this.#observe(current, previous);
      if (observed.kind === "kept") return;
      const isDirectory = observed.kind === "present" ? observed.isDirectory : previous?.type === "directory";
      if (ignores(current, isDirectory)) return;
      if (observed.kind === "gone") {
        // Gone: it and everything under it are deleted.
        if (previous && !previous.deleted && !this.#deleted.has(current)) {
          this.#deleted.add(current);
          yield tombstone(previous, this.#options.shortId, this.#options.nowMs());
        }
        yield* this.tombstonesUnder(current + "/");
        return;
      }
      if (observed.file) yield observed.file;
      if (!observed.isDirectory) {
        // Not (or no longer) a directory: whatever the index holds under it is gone.
        yield* this.tombstonesUnder(current + "/");
        return;
      }
      if (i === names.length) {
        yield* this.walk(current);
        yield* this.tombstonesUnder(current + "/");
      }
    }
  }

  /** Walks the subtree below `start` ("" for the whole folder), parents first. */
  async *walk(start: string): AsyncGenerator<FileInfo> {
    const { root, index, onProblem } = this.#options;
    const ignores = this.#options.ignores ?? (() => false);
    const pending = [start];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      let entries: Deno.DirEntry[];
      try {
        entries = listEntries(this.#options.fs, join(root, dir));
      } catch (e) {
        if (dir === "") throw new FsyncError(`cannot read folder ${root}: ${(e as Error).message}`, ExitCode.io);
        if (e instanceof Deno.errors.NotFound) continue; // removed meanwhile: the watcher reports it
        this.#unreadable.push(dir + "/");
        onProblem({ path: dir, message: `cannot list directory: ${(e as Error).message}` });
        continue;
      }
      const paths: string[] = [];
      for (const { name, isDirectory, isFile } of entries) {
        const path = dir ? `${dir}/${name}` : name;
        if (isTempName(name)) {
          if (isFile) this.#options.onTempFile?.(path);
        } else if (!ignores(path, isDirectory)) paths.push(path);
      }
      const subdirs: string[] = [];
      const unsure = this.known ? paths.filter((path) => !this.#confirmed(path, subdirs)) : paths;
      const previous = await index.getMany(unsure);
      for (let i = 0; i < unsure.length; i++) {
        const path = unsure[i];
        try {
          // An indexed path was checked when it entered the index (here, or from a peer's index).
          if (!previous[i]) validateRelativePath(path);
        } catch (e) {
          if (!(e instanceof PathEscapeError)) throw e;
          onProblem({ path, message: `not synced: ${e.message}` });
          continue;
        }
        const observed = await this.#observe(path, previous[i]);
        if (observed.kind === "gone") {
          // Listed, yet not there by the name Deno gives it: its name is not UTF-8, and Deno
          // put U+FFFD for the bytes it could not decode. Otherwise it went since listed.
          if (path.includes("\uFFFD")) onProblem({ path, message: NOT_UTF8 });
          continue;
        }
        this.#walked(path); // an unreadable or changing path is not a deleted one
        if (observed.kind === "kept") continue;
        if (observed.isDirectory) subdirs.push(path);
        if (observed.file) yield observed.file;
      }
      pending.push(...subdirs.sort().reverse());
    }
  }

  /**
   * In a full scan, true when the stat of an indexed `path` confirms its print: it is walked,
   * and a directory joins `subdirs`. False when it must be observed with its entry.
   */
  #confirmed(path: string, subdirs: string[]): boolean {
    const print = this.known!.get(path);
    if (!print || this.#options.recheck?.has(path)) return false;
    let st: Deno.FileInfo;
    try {
      st = this.#options.fs.lstatSync(join(this.#options.root, path));
    } catch {
      return false; // observed again, which reports why
    }
    if (!statUnchanged(print, st)) return false;
    this.#walked(path);
    if (st.isDirectory) subdirs.push(path);
    else this.#noteIfRecent(path, st.mtime?.getTime() ?? 0);
    return true;
  }

  #walked(path: string): void {
    if (this.known) this.known.forget(path);
    else this.#seen.add(path);
  }

  #noteIfRecent(path: string, mtimeMs: number): void {
    if (Math.abs(this.#options.nowMs() - mtimeMs) < RECENT_MS) this.#options.onRecent?.(path);
  }

  /** Observes one path, reporting what cannot be read and files that may still be changing. */
  async #observe(path: string, previous: FileInfo | undefined): Promise<Observation> {
    const { fs, root, shortId, recheck, onRecent, onProblem } = this.#options;
    try {
      const observed = await observe(fs, root, path, previous, shortId, recheck?.has(path) ?? false);
      if (observed.mtimeMs !== undefined) this.#noteIfRecent(path, observed.mtimeMs);
      return { kind: "present", ...observed };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { kind: "gone" };
      if (e instanceof FileChangedError && onRecent) onRecent(path);
      else if (e instanceof FileChangedError || e instanceof NotSyncedError || isOsError(e)) {
        // Unreadable, failing (EIO) or not syncable: a problem of this path only.
        onProblem({ path, message: (e as Error).message });
      } else throw e;
      return { kind: "kept" };
    }
  }

  /** Tombstones for indexed live paths under `prefix` that this scan did not see. */
  async *tombstonesUnder(prefix: string): AsyncGenerator<FileInfo> {
    for await (const entry of this.#options.index.listUnder(prefix)) {
      if (entry.deleted || this.#seen.has(entry.path) || !this.#deletable(entry)) continue;
      this.#deleted.add(entry.path);
      yield tombstone(entry, this.#options.shortId, this.#options.nowMs());
    }
  }

  /** A full scan's tombstones: for the indexed live paths its walk did not reach. */
  async *unwalkedTombstones(): AsyncGenerator<FileInfo> {
    const gone = [...this.known!.unseen()].filter((e) => this.#deletable(e)).map((e) => e.path);
    for (let i = 0; i < gone.length; i += TOMBSTONE_BATCH) {
      for (const entry of await this.#options.index.getMany(gone.slice(i, i + TOMBSTONE_BATCH))) {
        if (!entry || entry.deleted) continue;
        this.#deleted.add(entry.path);
        yield tombstone(entry, this.#options.shortId, this.#options.nowMs());
      }
    }
  }

  /** Whether an unseen indexed path counts as deleted: not ignored, not under an unreadable directory. */
  #deletable(entry: Pick<FileInfo, "path" | "type">): boolean {
    if (this.#deleted.has(entry.path)) return false;
    if (this.#options.ignores?.(entry.path, entry.type === "directory")) return false;
    return !this.#unreadable.some((d) => entry.path.startsWith(d));
  }
}

/** The entries of `dir` by name, listed synchronously (three times faster than Deno's async listing: 22 against 60-70 ms for 558 directories of 10,564 entries). */
function listEntries(fs: FileSystem, dir: string): Deno.DirEntry[] {
  return [...fs.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Stats one path and returns its new entry when it differs from `previous`, and for a file
 * its mtime in ms. A file whose size, mtime, inode and mode match `previous` is not read,
 * unless `recheck` asks for it; read again, it is a change only if its content differs.
 */
async function observe(
  fs: FileSystem,
  root: string,
  path: string,
  previous: FileInfo | undefined,
  shortId: string,
  recheck: boolean,
): Promise<{ file?: FileInfo; isDirectory: boolean; mtimeMs?: number }> {
  const abs = join(root, path);
  const st = fs.lstatSync(abs);
  // Special bits (setuid, setgid, sticky) are not synced: a change to them alone is no change.
  const mode = syncedMode(st);
  const mtimeNs = mtimeNsOf(st.mtime);
  const inode = st.ino ?? 0;
  const live = previous && !previous.deleted ? previous : undefined;
  const base = {
    path,
    mode,
    mtimeNs,
    inode,
    deleted: false,
    version: increment(previous?.version ?? {}, shortId),
    sequence: 0,
    modifiedBy: shortId,
    size: 0,
    blockSizes: new Uint32Array(),
    blockHashes: new Uint8Array(),
    contentHash: new Uint8Array(),
    symlinkTarget: "",
  };
  if (st.isDirectory) {
    return { file: statUnchanged(live, st) ? undefined : { ...base, type: "directory" }, isDirectory: true };
  }
  if (st.isSymlink) {
    const target = fs.readLinkSync(abs);
    const same = live?.type === "symlink" && live.symlinkTarget === target;
    return {
      file: same ? undefined : { ...base, type: "symlink", mode: 0o777, symlinkTarget: target },
      isDirectory: false,
    };
  }
  if (!st.isFile) throw new NotSyncedError("not synced: not a regular file, directory or symlink");
  if (st.size > MAX_FILE_SIZE) {
    throw new NotSyncedError(
      `not synced: ${humanBytes(st.size)} is over fsync's limit of ${humanBytes(MAX_FILE_SIZE)}`,
    );
  }
  const size = st.size;
  const mtimeMs = st.mtime?.getTime() ?? 0;
  const sameStat = live !== undefined && sameFileStat(live, st);
  if (sameStat && !recheck) {
    if (live.mode === mode) return { isDirectory: false, mtimeMs };
    return { file: { ...live, ...base, type: "file", size, ...contentOf(live) }, isDirectory: false, mtimeMs };
  }
  const hashes = await hashFile(fs, abs, size, st.mtime);
  if (sameStat && live.mode === mode && equalBytes(live.contentHash, hashes.contentHash)) {
    return { isDirectory: false, mtimeMs }; // read again: nothing had changed
  }
  return { file: { ...base, type: "file", size, ...hashes }, isDirectory: false, mtimeMs };
}

function contentOf(file: FileInfo): Pick<FileInfo, "blockSizes" | "blockHashes" | "contentHash"> {
  return { blockSizes: file.blockSizes, blockHashes: file.blockHashes, contentHash: file.contentHash };
}

/** The entry that records `entry`'s path as deleted. */
function tombstone(entry: FileInfo, shortId: string, nowMs: number): FileInfo {
  return {
    ...entry,
    deleted: true,
    version: increment(entry.version, shortId),
    modifiedBy: shortId,
    mtimeNs: BigInt(nowMs) * 1_000_000n,
    size: 0,
    blockSizes: new Uint32Array(),
    blockHashes: new Uint8Array(),
    contentHash: new Uint8Array(),
    inode: 0,
  };
}
