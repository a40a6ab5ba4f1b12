import { join } from "node:path";
import {
  blockSizeFor,
  ExitCode,
  type FileInfo,
  FsyncError,
  increment,
  mtimeNsOf,
  PathEscapeError,
  TEMP_PREFIX,
  validateRelativePath,
} from "../model/mod.ts";
import { FileChangedError, hashFile } from "./hash_file.ts";

/** What the scanner needs of the local index (the store satisfies it). */
export interface LocalIndex {
  /** Entries for these paths, in the same order (undefined where there is none). */
  getMany(paths: readonly string[]): Promise<(FileInfo | undefined)[]>;
  /** Every entry whose path starts with `prefix` ("" for all), in any order. */
  listUnder(prefix: string): AsyncIterable<FileInfo>;
}

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
  readonly index: LocalIndex;
  /** Short ID of this device, for new versions. */
  readonly shortId: string;
  /** Reports a path that was skipped. */
  readonly onProblem: (problem: ScanProblem) => void;
  /** Current time in ms, for tombstones. */
  readonly nowMs: () => number;
  /** Told of each of fsync's temporary files (relative path, mtime in ms) so stale ones can go. */
  readonly onTempFile?: (path: string, mtimeMs: number) => Promise<void>;
  /**
   * Rescan only these paths (watcher hints): each with its parents, a directory with its
   * whole subtree, a vanished path with everything under it. Absent: the whole folder.
   */
  readonly paths?: readonly string[];
}

/**
 * Walks the folder (or the hinted paths) and yields a new local version for every path that
 * changed since the index last saw it (created, modified, type or mode changed) and a
 * tombstone for every indexed path that is gone. Parents come before their children. A
 * file whose size, mtime, inode and mode are unchanged is not read. Symlinks are recorded,
 * never followed; fsync's temporary files and entries other than files, directories and
 * symlinks are skipped. Sequences are left for the store to assign.
 *
 * @throws {FsyncError} (local IO) when the folder itself cannot be read.
 */
export async function* scanFolder(options: ScanOptions): AsyncGenerator<FileInfo> {
  const { root } = options;
  try {
    const info = await Deno.stat(root);
    if (!info.isDirectory) throw new FsyncError(`${root} is not a directory`, ExitCode.io);
  } catch (e) {
    if (e instanceof FsyncError) throw e;
    throw new FsyncError(`cannot read folder ${root}: ${(e as Error).message}`, ExitCode.io, { cause: e });
  }
  const run = new ScanRun(options);
  if (options.paths === undefined) {
    yield* run.walk("");
    yield* run.tombstonesUnder("");
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
  #unreadable: string[] = [];

  constructor(options: ScanOptions) {
    this.#options = options;
  }

  /** Rescans one hinted path: its parents, itself, and below it. */
  async *rescan(path: string): AsyncGenerator<FileInfo> {
    const names = path.split("/");
    for (let i = 1; i <= names.length; i++) {
      const current = names.slice(0, i).join("/");
      const [previous] = await this.#options.index.getMany([current]);
      let observed: Awaited<ReturnType<typeof observe>>;
      try {
        observed = await observe(this.#options.root, current, previous, this.#options.shortId);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        // Gone: it and everything under it are deleted.
        if (previous && !previous.deleted) yield tombstone(previous, this.#options.shortId, this.#options.nowMs());
        yield* this.tombstonesUnder(current + "/");
        return;
      }
      if (observed.file) yield observed.file;
      if (i < names.length && !observed.isDirectory) return; // a parent is no directory: the hint is stale
      if (i === names.length && observed.isDirectory) {
        yield* this.walk(current);
        yield* this.tombstonesUnder(current + "/");
      }
    }
  }

  /** Walks the subtree below `start` ("" for the whole folder), parents first. */
  async *walk(start: string): AsyncGenerator<FileInfo> {
    const { root, index, shortId, onProblem } = this.#options;
    const pending = [start];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      let names: string[];
      try {
        names = await listNames(join(root, dir));
      } catch (e) {
        if (dir === "") throw new FsyncError(`cannot read folder ${root}: ${(e as Error).message}`, ExitCode.io);
        if (e instanceof Deno.errors.NotFound) continue; // removed meanwhile: the watcher reports it
        this.#unreadable.push(dir + "/");
        onProblem({ path: dir, message: `cannot list directory: ${(e as Error).message}` });
        continue;
      }
      const paths: string[] = [];
      for (const name of names) {
        const path = dir ? `${dir}/${name}` : name;
        if (!name.startsWith(TEMP_PREFIX)) paths.push(path);
        else if (this.#options.onTempFile) await reportTemp(root, path, this.#options.onTempFile);
      }
      const previous = await index.getMany(paths);
      const subdirs: string[] = [];
      for (let i = 0; i < paths.length; i++) {
        const path = paths[i];
        try {
          validateRelativePath(path);
        } catch (e) {
          if (!(e instanceof PathEscapeError)) throw e;
          onProblem({ path, message: `not synced: ${e.message}` });
          continue;
        }
        try {
          const { file, isDirectory } = await observe(root, path, previous[i], shortId);
          this.#seen.add(path);
          if (isDirectory) subdirs.push(path);
          if (file) yield file;
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) continue; // gone since listed: the next scan sees it
          if (
            !(e instanceof FileChangedError || e instanceof Deno.errors.PermissionDenied ||
              e instanceof NotSyncedError)
          ) {
            throw e;
          }
          // Keep the previous entry: an unreadable or changing path is not a deleted one.
          this.#seen.add(path);
          onProblem({ path, message: e.message });
        }
      }
      pending.push(...subdirs.reverse());
    }
  }

  /** Tombstones for indexed live paths under `prefix` that this scan did not see. */
  async *tombstonesUnder(prefix: string): AsyncGenerator<FileInfo> {
    for await (const entry of this.#options.index.listUnder(prefix)) {
      if (entry.deleted || this.#seen.has(entry.path)) continue;
      if (this.#unreadable.some((d) => entry.path.startsWith(d))) continue;
      yield tombstone(entry, this.#options.shortId, this.#options.nowMs());
    }
  }
}

async function reportTemp(root: string, path: string, onTempFile: (path: string, mtimeMs: number) => Promise<void>) {
  try {
    const st = await Deno.lstat(join(root, path));
    if (st.isFile) await onTempFile(path, st.mtime?.getTime() ?? 0);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

async function listNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/** Stats one path and returns its new entry when it differs from `previous`. */
async function observe(
  root: string,
  path: string,
  previous: FileInfo | undefined,
  shortId: string,
): Promise<{ file?: FileInfo; isDirectory: boolean }> {
  const abs = join(root, path);
  const st = await Deno.lstat(abs);
  const mode = (st.mode ?? 0) & 0o7777;
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
    blockSize: 0,
    blockHashes: new Uint8Array(),
    contentHash: new Uint8Array(),
    symlinkTarget: "",
  };
  if (st.isDirectory) {
    const same = live?.type === "directory" && live.mode === mode && live.mtimeNs === mtimeNs;
    return { file: same ? undefined : { ...base, type: "directory" }, isDirectory: true };
  }
  if (st.isSymlink) {
    const target = await Deno.readLink(abs);
    const same = live?.type === "symlink" && live.symlinkTarget === target;
    return {
      file: same ? undefined : { ...base, type: "symlink", mode: 0o777, symlinkTarget: target },
      isDirectory: false,
    };
  }
  if (!st.isFile) throw new NotSyncedError("not synced: not a regular file, directory or symlink");
  const size = st.size;
  if (live?.type === "file" && live.size === size && live.mtimeNs === mtimeNs && live.inode === inode) {
    if (live.mode === mode) return { isDirectory: false };
    return {
      file: {
        ...live,
        ...base,
        type: "file",
        size,
        blockSize: live.blockSize,
        blockHashes: live.blockHashes,
        contentHash: live.contentHash,
      },
      isDirectory: false,
    };
  }
  const blockSize = blockSizeFor(size);
  const hashes = await hashFile(abs, size, blockSize);
  return { file: { ...base, type: "file", size, blockSize, ...hashes }, isDirectory: false };
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
    blockHashes: new Uint8Array(),
    contentHash: new Uint8Array(),
    inode: 0,
  };
}
