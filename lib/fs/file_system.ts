import { statfsSync } from "node:fs";

/**
 * Files up to this size are read and written with synchronous calls (fsync aside): each of
 * Deno's async file calls costs 20-90 us in thread hand-offs against 2 us for the same call
 * made synchronously (measured), which dominated scanning and pulling many small files.
 * Larger files use async calls, so the event loop keeps serving peers while they are read.
 */
export const SYNC_IO_MAX_BYTES = 1024 * 1024;

/** An open file, as Deno.FsFile offers it (which satisfies this): positioned reads and writes, sync variants too. */
export interface FileHandle extends Disposable {
  read(into: Uint8Array): Promise<number | null>;
  readSync(into: Uint8Array): number | null;
  /** Writes some of `data` (maybe fewer bytes than given: callers loop) and returns how many. */
  write(data: Uint8Array): Promise<number>;
  writeSync(data: Uint8Array): number;
  seek(offset: number, whence: Deno.SeekMode): Promise<number>;
  seekSync(offset: number, whence: Deno.SeekMode): number;
  truncate(length?: number): Promise<void>;
  truncateSync(length?: number): void;
  stat(): Promise<Deno.FileInfo>;
  statSync(): Deno.FileInfo;
  /** fdatasync. */
  syncData(): Promise<void>;
  /** fsync (a directory opened for reading, too). */
  sync(): Promise<void>;
  close(): void;
}

/**
 * The file-system calls the scanner and the puller make, and nothing else: the seam where
 * tests inject ENOSPC, EIO, EACCES or short writes at chosen calls. Errors are Deno's
 * (`Deno.errors.NotFound`, `PermissionDenied`, ... with the errno name in `code`).
 */
export interface FileSystem {
  stat(path: string): Promise<Deno.FileInfo>;
  lstatSync(path: string): Deno.FileInfo;
  readDirSync(path: string): Iterable<Deno.DirEntry>;
  readLinkSync(path: string): string;
  open(path: string, options: Deno.OpenOptions): Promise<FileHandle>;
  openSync(path: string, options: Deno.OpenOptions): FileHandle;
  renameSync(from: string, to: string): void;
  /** Makes `to` another name of the file `from` (a hard link); fails with AlreadyExists when `to` exists. */
  linkSync(from: string, to: string): void;
  removeSync(path: string): void;
  mkdirSync(path: string, options?: Deno.MkdirOptions): void;
  chmodSync(path: string, mode: number): void;
  utimeSync(path: string, atime: Date, mtime: Date): void;
  symlinkSync(target: string, path: string): void;
  /** Bytes an unprivileged user may still write on the file system holding `path`. */
  freeBytes(path: string): number;
}

/** The real file system, through Deno's calls. */
export const denoFs: FileSystem = {
  stat: (path) => Deno.stat(path),
  lstatSync: (path) => Deno.lstatSync(path),
  readDirSync: (path) => Deno.readDirSync(path),
  readLinkSync: (path) => Deno.readLinkSync(path),
  open: (path, options) => Deno.open(path, options),
  openSync: (path, options) => Deno.openSync(path, options),
  renameSync: (from, to) => Deno.renameSync(from, to),
  linkSync: (from, to) => Deno.linkSync(from, to),
  removeSync: (path) => Deno.removeSync(path),
  mkdirSync: (path, options) => Deno.mkdirSync(path, options),
  chmodSync: (path, mode) => Deno.chmodSync(path, mode),
  utimeSync: (path, atime, mtime) => Deno.utimeSync(path, atime, mtime),
  symlinkSync: (target, path) => Deno.symlinkSync(target, path),
  freeBytes: (path) => {
    const { bavail, bsize } = statfsSync(path);
    return Number(bavail) * Number(bsize);
  },
};

/** An error from the operating system (it names an errno such as EIO), not a bug. */
export function isOsError(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string";
}

/**
 * Removes a file if it can; false when an OS error (EACCES, EROFS, EIO) kept it, for a later
 * try. One already gone is fine.
 */
export function tryRemove(fs: FileSystem, path: string): boolean {
  try {
    removeIfThere(fs, path);
    return true;
  } catch (e) {
    if (isOsError(e)) return false;
    throw e;
  }
}

/** Removes a file; one already gone is fine. */
export function removeIfThere(fs: FileSystem, path: string): void {
  try {
    fs.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Reads into all of `into` unless the file ends first; returns the bytes read. */
export async function readFull(file: FileHandle, into: Uint8Array): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const n = await file.read(into.subarray(done));
    if (n === null) break;
    done += n;
  }
  return done;
}

/** {@linkcode readFull} with synchronous calls. */
export function readFullSync(file: FileHandle, into: Uint8Array): number {
  let done = 0;
  while (done < into.length) {
    const n = file.readSync(into.subarray(done));
    if (n === null) break;
    done += n;
  }
  return done;
}

/** Writes all of `data`, however short each write is. */
export async function writeAll(file: Pick<FileHandle, "write">, data: Uint8Array): Promise<void> {
  for (let done = 0; done < data.length;) done += await file.write(data.subarray(done));
}

/** {@linkcode writeAll} with synchronous calls. */
export function writeAllSync(file: FileHandle, data: Uint8Array): void {
  for (let done = 0; done < data.length;) done += file.writeSync(data.subarray(done));
}
