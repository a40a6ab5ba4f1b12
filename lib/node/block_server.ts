import { join } from "node:path";
import { blockBuffers, type BlockWant, type FileInfo, mtimeNsOf } from "../model/mod.ts";
import type { BlockErrorCode } from "../net/mod.ts";
import { readFull, readFullSync, SYNC_IO_MAX_BYTES } from "../fs/mod.ts";
import type { Store } from "../store/mod.ts";

/** How long an index entry read to serve a file's block is used again for its next blocks. */
const ENTRY_REUSE_MS = 1_000;
/** Index entries kept for reuse at most (one per file being served). */
const MAX_CACHED_ENTRIES = 256;

type EntryStat = Omit<FileInfo, "blockHashes" | "blockSizes">;

/**
 * Answers peers' block requests from the folders' files on disk. A block is sent only while
 * the file's stat (size, mtime, inode) still is what the local index recorded: a file
 * changed since its scan is answered `changed` and `onStale` asks for a rescan, so the peer
 * gets the finished version. The bytes are not hashed again (the scan did; the peer
 * verifies every block). The index entry of a file is read once for its next blocks, not
 * once per block: a 4 GiB file is 4,096 requests.
 */
export class BlockServer {
  #store: Store;
  #onStale: (folderId: string, path: string) => void;
  #entries = new Map<string, { entry: EntryStat | undefined; readAtMs: number }>();

  constructor(store: Store, onStale: (folderId: string, path: string) => void) {
    this.#store = store;
    this.#onStale = onStale;
  }

  /**
   * The block `want` of a file in the folder at `root`, or why it cannot be sent. The bytes
   * may be a `blockBuffers` buffer: the caller gives it back once they are sent.
   *
   * @throws {Error} when the file cannot be read for another reason than being gone.
   */
  async serve(folderId: string, root: string, want: BlockWant): Promise<Uint8Array | BlockErrorCode> {
    let { entry, cached } = await this.#entry(folderId, want.path);
    if (!servable(entry, want) && cached) ({ entry, cached } = await this.#entry(folderId, want.path, true));
    if (!servable(entry, want)) {
      return entry && !entry.deleted && entry.type === "file" ? "invalid-request" : "no-such-file";
    }
    let read: { data: Uint8Array; stat: Deno.FileInfo } | undefined;
    try {
      read = entry!.size <= SYNC_IO_MAX_BYTES // synchronous calls: see SYNC_IO_MAX_BYTES
        ? readRangeSync(join(root, want.path), want)
        : await readRange(join(root, want.path), want);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return "no-such-file";
      throw e;
    }
    if (read && isRecorded(read.stat, entry!)) return read.data;
    if (read && cached) {
      // The entry may have been recorded since it was read: look again before calling it stale.
      ({ entry } = await this.#entry(folderId, want.path, true));
      if (servable(entry, want) && isRecorded(read.stat, entry!)) return read.data;
    }
    // Changed since it was scanned: the peer gets the new version once the scan has it.
    if (read) blockBuffers.give(read.data);
    this.#onStale(folderId, want.path);
    return "changed";
  }

  /** The local entry of a path: the one read for an earlier block unless `fresh` or too old. */
  async #entry(
    folderId: string,
    path: string,
    fresh = false,
  ): Promise<{ entry: EntryStat | undefined; cached: boolean }> {
    const key = `${folderId}/${path}`;
    const now = performance.now();
    const kept = this.#entries.get(key);
    if (!fresh && kept && now - kept.readAtMs < ENTRY_REUSE_MS) return { entry: kept.entry, cached: true };
    const entry = await this.#store.getLocalStat(folderId, path);
    this.#entries.delete(key);
    if (this.#entries.size >= MAX_CACHED_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { entry, readAtMs: now });
    return { entry, cached: false };
  }
}

/** The wanted range and the file's stat taken after reading it; undefined when the file is shorter. */
async function readRange(abs: string, want: BlockWant): Promise<{ data: Uint8Array; stat: Deno.FileInfo } | undefined> {
  using handle = await Deno.open(abs, { read: true });
  await handle.seek(want.offset, Deno.SeekMode.Start);
  const data = blockBuffers.take(want.size);
  return await readFull(handle, data) === want.size ? { data, stat: await handle.stat() } : undefined;
}

/** {@linkcode readRange} with synchronous calls. */
function readRangeSync(abs: string, want: BlockWant): { data: Uint8Array; stat: Deno.FileInfo } | undefined {
  using handle = Deno.openSync(abs, { read: true });
  handle.seekSync(want.offset, Deno.SeekMode.Start);
  const data = blockBuffers.take(want.size);
  return readFullSync(handle, data) === want.size ? { data, stat: handle.statSync() } : undefined;
}

/** Whether the entry is a live file that holds the wanted range. */
function servable(entry: EntryStat | undefined, want: BlockWant): boolean {
  return entry !== undefined && !entry.deleted && entry.type === "file" && want.offset + want.size <= entry.size;
}

/** Whether the file on disk still is the version the entry recorded. */
function isRecorded(stat: Deno.FileInfo, entry: EntryStat): boolean {
  return stat.size === entry.size && mtimeNsOf(stat.mtime) === entry.mtimeNs && stat.ino === entry.inode;
}
