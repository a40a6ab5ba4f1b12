import {
  type FileHandle,
  type FileSystem,
  readFull,
  readFullSync,
  SYNC_IO_MAX_BYTES,
  writeAll,
  writeAllSync,
} from "../fs/mod.ts";

/** The temporary file a pull builds a file's new content in, written and read at offsets. */
export interface TempFile extends AsyncDisposable {
  /**
   * Its size when opened (what an interrupted pull left), its inode (which the renamed file
   * keeps) and its file system's device number.
   */
  readonly opened: { readonly size: number; readonly ino: number; readonly dev: number };
  /** Reads into `into` from `position`; returns the bytes read (fewer at the end). */
  read(into: Uint8Array, position: number): Promise<number>;
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  truncate(size: number): Promise<void>;
  /** Makes the content durable (fdatasync, always asynchronous). */
  datasync(): Promise<void>;
}

/**
 * Opens (creating, mode 0600) the temporary file of a file of `finalSize` bytes. Up to
 * SYNC_IO_MAX_BYTES it is then read and written with synchronous calls, as one pull of a small
 * file otherwise spends most of its time in the 20-90 us thread hand-off of each async call;
 * larger files use async calls, so the event loop keeps serving peers meanwhile.
 */
export async function openTempFile(fs: FileSystem, path: string, finalSize: number): Promise<TempFile> {
  const options = { read: true, write: true, create: true, mode: 0o600 };
  // Opened synchronously too: 2,000 creations 64 at a time took 817 ms with Deno.open, which
  // left the event loop 7% of that time, and 268 ms with Deno.openSync.
  const small = finalSize <= SYNC_IO_MAX_BYTES;
  const open = async () => small ? fs.openSync(path, options) : await fs.open(path, options);
  let file = await open();
  let stat = statOrClose(file);
  if ((stat.nlink ?? 1) > 1) {
    // Another name of a placed file (a pull whose last step, removing this name, failed):
    // writing here would write there. Its own fresh file instead.
    file.close();
    fs.removeSync(path);
    file = await open();
    stat = statOrClose(file);
  }
  const opened = { size: stat.size, ino: stat.ino ?? 0, dev: stat.dev };
  return small ? new SyncTempFile(file, opened) : new AsyncTempFile(file, opened);
}

/** The file's stat; the file is closed when it cannot be taken. */
function statOrClose(file: FileHandle): Deno.FileInfo {
  try {
    return file.statSync();
  } catch (e) {
    file.close();
    throw e;
  }
}

class SyncTempFile implements TempFile {
  #file: FileHandle;

  constructor(file: FileHandle, readonly opened: TempFile["opened"]) {
    this.#file = file;
  }

  read(into: Uint8Array, position: number): Promise<number> {
    this.#file.seekSync(position, Deno.SeekMode.Start);
    return Promise.resolve(readFullSync(this.#file, into));
  }

  write(data: Uint8Array, position: number): Promise<void> {
    this.#file.seekSync(position, Deno.SeekMode.Start);
    writeAllSync(this.#file, data);
    return Promise.resolve();
  }

  truncate(size: number): Promise<void> {
    this.#file.truncateSync(size);
    return Promise.resolve();
  }

  async datasync(): Promise<void> {
    await this.#file.syncData();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#file.close();
    return Promise.resolve();
  }
}

/**
 * Bytes a large temporary file takes before they are flushed in the background, beside the
 * writes that follow: the final fdatasync of a 256 MiB pull then waits for the last few MiB
 * instead of all of it.
 */
const EARLY_SYNC_BYTES = 32 << 20;

/**
 * Async calls on a Deno file, one at a time (seek, then read or write): they run off the event
 * loop, unlike node:fs FileHandle writes, which took 10.7% of a receiver's main thread. Every
 * EARLY_SYNC_BYTES written, an fdatasync starts beside the writes; {@linkcode datasync} waits
 * for it and fails with its error (a failed fdatasync may not report again).
 */
class AsyncTempFile implements TempFile {
  #file: FileHandle;
  #queue: Promise<unknown> = Promise.resolve();
  #unflushed = 0;
  #flushing?: Promise<void>;
  #flushFailure?: Error;

  constructor(file: FileHandle, readonly opened: TempFile["opened"]) {
    this.#file = file;
  }

  /** Runs `op` after the calls queued before it (the file position is shared). */
  #inTurn<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(op);
    this.#queue = result.catch(() => {});
    return result;
  }

  read(into: Uint8Array, position: number): Promise<number> {
    return this.#inTurn(async () => {
      await this.#file.seek(position, Deno.SeekMode.Start);
      return await readFull(this.#file, into);
    });
  }

  write(data: Uint8Array, position: number): Promise<void> {
    return this.#inTurn(async () => {
      await this.#file.seek(position, Deno.SeekMode.Start);
      await writeAll(this.#file, data);
      this.#unflushed += data.length;
      if (this.#unflushed >= EARLY_SYNC_BYTES && !this.#flushing) this.#flushEarly();
    });
  }

  truncate(size: number): Promise<void> {
    return this.#inTurn(() => this.#file.truncate(size));
  }

  datasync(): Promise<void> {
    return this.#inTurn(async () => {
      await this.#flushing;
      if (this.#flushFailure) throw this.#flushFailure;
      await this.#file.syncData();
    });
  }

  #flushEarly(): void {
    this.#unflushed = 0;
    this.#flushing = this.#file.syncData().then(
      () => this.#flushing = undefined,
      (e: Error) => {
        this.#flushFailure ??= e;
        this.#flushing = undefined;
      },
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#queue;
    await this.#flushing;
    this.#file.close();
  }
}
