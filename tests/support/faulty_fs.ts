import { denoFs, type FileHandle, type FileSystem } from "../../lib/fs/mod.ts";

/** A call of the file-system seam; a handle's calls are named after the handle's path. */
export type FsOp =
  | "stat"
  | "lstat"
  | "readDir"
  | "readLink"
  | "open"
  | "read"
  | "write"
  | "seek"
  | "truncate"
  | "fstat"
  | "datasync"
  | "fsync"
  | "rename"
  | "link"
  | "remove"
  | "mkdir"
  | "chmod"
  | "utime"
  | "symlink"
  | "freeBytes";

/** An errno the call fails with, or a write that writes only part of what it was given. */
export type FaultKind = "ENOSPC" | "EIO" | "EACCES" | "EPERM" | "short-write";

/** Which calls fail, and how. */
export interface FsFault {
  readonly op: FsOp;
  /** Only calls with a path containing this (either path of a rename). */
  readonly path?: string;
  /** The matching call that fails, counting from 1; absent: every matching call. */
  readonly nth?: number;
  readonly kind: FaultKind;
}

/** The error Deno throws for `kind`, with its errno name in `code` as Deno's own errors have. */
function errorFor(kind: Exclude<FaultKind, "short-write">, op: FsOp, path: string): Error {
  const what = `${op} '${path}' (injected)`;
  const e = kind === "EACCES"
    ? new Deno.errors.PermissionDenied(`Permission denied (os error 13): ${what}`)
    : kind === "EPERM"
    ? new Deno.errors.PermissionDenied(`Operation not permitted (os error 1): ${what}`)
    : new Error(
      kind === "ENOSPC" ? `No space left on device (os error 28): ${what}` : `Input/output error (os error 5): ${what}`,
    );
  Object.defineProperty(e, "code", { value: kind });
  return e;
}

/**
 * A FileSystem that passes every call to a real one (denoFs), except those matching an
 * injected fault: they throw ENOSPC, EIO, EACCES or EPERM as Deno would, or (writes) write half
 * of what they were given. Like Syncthing's fakefs/errorfs, for unit tests of failure paths.
 */
export class FaultyFs implements FileSystem {
  /** Every call made, in order. */
  readonly calls: { op: FsOp; path: string }[] = [];
  #faults: { fault: FsFault; seen: number }[] = [];
  #inner: FileSystem;

  constructor(inner: FileSystem = denoFs) {
    this.#inner = inner;
  }

  /** Adds a fault; returns this. */
  inject(fault: FsFault): this {
    this.#faults.push({ fault, seen: 0 });
    return this;
  }

  /** Removes every fault. */
  heal(): void {
    this.#faults = [];
  }

  /**
   * Records a call and throws when a fault says so; returns true when the call is to be a
   * short write instead.
   */
  check(op: FsOp, ...paths: string[]): boolean {
    this.calls.push({ op, path: paths.join(" -> ") });
    let short = false;
    for (const entry of this.#faults) {
      const { fault } = entry;
      if (fault.op !== op || (fault.path !== undefined && !paths.some((p) => p.includes(fault.path!)))) continue;
      entry.seen++;
      if (fault.nth !== undefined && entry.seen !== fault.nth) continue;
      if (fault.kind === "short-write") short = true;
      else throw errorFor(fault.kind, op, paths[0]);
    }
    return short;
  }

  stat(path: string): Promise<Deno.FileInfo> {
    return this.#async(() => (this.check("stat", path), this.#inner.stat(path)));
  }
  lstatSync(path: string): Deno.FileInfo {
    this.check("lstat", path);
    return this.#inner.lstatSync(path);
  }
  readDirSync(path: string): Iterable<Deno.DirEntry> {
    this.check("readDir", path);
    return this.#inner.readDirSync(path);
  }
  readLinkSync(path: string): string {
    this.check("readLink", path);
    return this.#inner.readLinkSync(path);
  }
  async open(path: string, options: Deno.OpenOptions): Promise<FileHandle> {
    this.check("open", path);
    return new FaultyHandle(this, path, await this.#inner.open(path, options));
  }
  openSync(path: string, options: Deno.OpenOptions): FileHandle {
    this.check("open", path);
    return new FaultyHandle(this, path, this.#inner.openSync(path, options));
  }
  renameSync(from: string, to: string): void {
    this.check("rename", from, to);
    this.#inner.renameSync(from, to);
  }
  linkSync(from: string, to: string): void {
    this.check("link", from, to);
    this.#inner.linkSync(from, to);
  }
  removeSync(path: string): void {
    this.check("remove", path);
    this.#inner.removeSync(path);
  }
  mkdirSync(path: string, options?: Deno.MkdirOptions): void {
    this.check("mkdir", path);
    this.#inner.mkdirSync(path, options);
  }
  chmodSync(path: string, mode: number): void {
    this.check("chmod", path);
    this.#inner.chmodSync(path, mode);
  }
  utimeSync(path: string, atime: Date, mtime: Date): void {
    this.check("utime", path);
    this.#inner.utimeSync(path, atime, mtime);
  }
  symlinkSync(target: string, path: string): void {
    this.check("symlink", path);
    this.#inner.symlinkSync(target, path);
  }
  freeBytes(path: string): number {
    this.check("freeBytes", path);
    return this.#inner.freeBytes(path);
  }

  /** Runs `call`, turning a synchronous throw into a rejection as an async call would. */
  #async<T>(call: () => Promise<T>): Promise<T> {
    try {
      return call();
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

/** A real file handle whose calls pass through the faults of its FaultyFs. */
class FaultyHandle implements FileHandle {
  #fs: FaultyFs;
  #path: string;
  #inner: FileHandle;

  constructor(fs: FaultyFs, path: string, inner: FileHandle) {
    this.#fs = fs;
    this.#path = path;
    this.#inner = inner;
  }

  async read(into: Uint8Array): Promise<number | null> {
    this.#fs.check("read", this.#path);
    return await this.#inner.read(into);
  }
  readSync(into: Uint8Array): number | null {
    this.#fs.check("read", this.#path);
    return this.#inner.readSync(into);
  }
  async write(data: Uint8Array): Promise<number> {
    const short = this.#fs.check("write", this.#path);
    return await this.#inner.write(short ? data.subarray(0, Math.ceil(data.length / 2)) : data);
  }
  writeSync(data: Uint8Array): number {
    const short = this.#fs.check("write", this.#path);
    return this.#inner.writeSync(short ? data.subarray(0, Math.ceil(data.length / 2)) : data);
  }
  async seek(offset: number, whence: Deno.SeekMode): Promise<number> {
    this.#fs.check("seek", this.#path);
    return await this.#inner.seek(offset, whence);
  }
  seekSync(offset: number, whence: Deno.SeekMode): number {
    this.#fs.check("seek", this.#path);
    return this.#inner.seekSync(offset, whence);
  }
  async truncate(length?: number): Promise<void> {
    this.#fs.check("truncate", this.#path);
    await this.#inner.truncate(length);
  }
  truncateSync(length?: number): void {
    this.#fs.check("truncate", this.#path);
    this.#inner.truncateSync(length);
  }
  async stat(): Promise<Deno.FileInfo> {
    this.#fs.check("fstat", this.#path);
    return await this.#inner.stat();
  }
  statSync(): Deno.FileInfo {
    this.#fs.check("fstat", this.#path);
    return this.#inner.statSync();
  }
  async syncData(): Promise<void> {
    this.#fs.check("datasync", this.#path);
    await this.#inner.syncData();
  }
  async sync(): Promise<void> {
    this.#fs.check("fsync", this.#path);
    await this.#inner.sync();
  }
  close(): void {
    this.#inner.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}
