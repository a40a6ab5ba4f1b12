import { join, relative } from "node:path";
import { type FileHandle, type FileSystem, isOsError, readFull } from "../fs/mod.ts";
import {
  blockBuffers,
  blockCount,
  blockHash,
  blockLength,
  blockOffsets,
  type BlockWant,
  equalBytes,
  type FileInfo,
  sha256,
  toHex,
} from "../model/mod.ts";
import { BlockMismatchError } from "./errors.ts";
import type { TempFile } from "./temp_file.ts";

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
  /**
   * The source of one file's blocks (say, spread over every peer that holds that version);
   * this one when absent.
   */
  forFile?(file: FileInfo): Promise<BlockSource>;
  /** Told that the data it gave for `want` does not match the file's hashes (the file's pull then fails). */
  rejected?(want: BlockWant): void;
}

/** A bound on bytes in use (a semaphore). */
export interface ByteBudget {
  acquire(bytes: number): Promise<void>;
  release(bytes: number): void;
}

/** What gathering a file's blocks needs: where local copies may be, and where the rest come from. */
export interface GatherOptions {
  /** Absolute path of the folder. */
  readonly root: string;
  readonly source: BlockSource;
  /** Called as bytes arrive (fetched from the peer, or reused from local data). */
  readonly onProgress?: (fetched: number, reused: number) => void;
  /**
   * Local files that may hold a block with this hash (path relative to the folder, offset):
   * the block map. Candidates are verified before use.
   */
  readonly findBlock?: (hash: Uint8Array) => Promise<readonly { path: string; offset: number }[]>;
  /**
   * Whether the block map names any block at all. A file of several missing blocks asks it
   * once, and looks none up when it says no: a new replica's first 256 MiB file made 256
   * lookups of 1 ms each, under load, before fetching.
   */
  readonly anyLocalBlock?: () => Promise<boolean>;
  /**
   * Bounds the bytes fetched and not yet written, across every file pulled at once: taken
   * before a request, given back once its data is written (the session's own bound ends
   * when the data arrives, and writes may lag behind arrivals).
   */
  readonly unwritten?: ByteBudget;
  /** Every file-system call goes through it (a sandboxed command's symlinks are made for it). */
  readonly fs: FileSystem;
}

/** Whether block `i` of `file`, at `offset`, is already in the temporary file, intact. */
export async function blockMatches(handle: TempFile, file: FileInfo, i: number, offset: number): Promise<boolean> {
  const length = blockLength(file, i);
  const buffer = new Uint8Array(length);
  const bytesRead = await handle.read(buffer, offset);
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
export async function reuseLocalBlocks(
  options: GatherOptions,
  file: FileInfo,
  local: FileInfo | undefined,
  older: string | undefined,
  handle: TempFile,
  missing: readonly number[],
): Promise<Set<number>> {
  const oldOffsets = new Map<string, number>();
  if (local && !local.deleted && local.type === "file") {
    const offsets = blockOffsets(local);
    for (let i = 0; i < blockCount(local); i++) oldOffsets.set(toHex(blockHash(local, i)), offsets[i]);
  }
  const offsets = blockOffsets(file);
  const olderPath = older && relative(options.root, older);
  const { findBlock, anyLocalBlock } = options;
  const lookUp = findBlock && (missing.length < 2 || !anyLocalBlock || await anyLocalBlock()) ? findBlock : undefined;
  const candidatesFor = async (i: number): Promise<BlockCandidate[]> => {
    const hash = blockHash(file, i);
    const at = oldOffsets.get(toHex(hash));
    const old = at === undefined ? [] : [{ path: file.path, offset: at }];
    const unfinished = olderPath ? [{ path: olderPath, offset: offsets[i] }] : [];
    const elsewhere = lookUp ? await lookUp(hash) : [];
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
        await handle.write(block, offsets[i]);
        blockBuffers.give(block);
        done.add(i);
        options.onProgress?.(0, blockLength(file, i));
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

  /** The bytes of the first candidate that still holds the block with `hash`, if any (from `blockBuffers`). */
  async firstVerified(candidates: readonly BlockCandidate[], hash: Uint8Array, length: number) {
    for (const candidate of candidates) {
      const source = await this.#handle(candidate.path);
      if (!source) continue;
      const buffer = blockBuffers.take(length);
      let verified = false;
      try {
        await source.seek(candidate.offset, Deno.SeekMode.Start);
        verified = await readFull(source, buffer) === length && equalBytes(sha256(buffer), hash);
      } catch (e) {
        if (!isOsError(e)) throw e;
        this.#open.set(candidate.path, null);
        source.close();
      }
      if (verified) return buffer;
      blockBuffers.give(buffer);
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
export async function fetchBlocks(
  options: GatherOptions,
  file: FileInfo,
  handle: TempFile,
  indexes: readonly number[],
): Promise<void> {
  const offsets = blockOffsets(file);
  const spans = spansOf(file, indexes);
  const source = await options.source.forFile?.(file) ?? options.source;
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < spans.length && !failed) {
      const { first, count } = spans[next++];
      const offset = offsets[first];
      const size = (first + count < offsets.length ? offsets[first + count] : file.size) - offset;
      await options.unwritten?.acquire(size);
      try {
        const want = { path: file.path, offset, size, hash: blockHash(file, first) };
        const data = await source.fetchBlock(want);
        for (let i = first, at = 0; i < first + count; at += blockLength(file, i), i++) {
          const block = data.subarray(at, at + blockLength(file, i));
          if (data.length !== size || !equalBytes(sha256(block), blockHash(file, i))) {
            source.rejected?.(want);
            throw new BlockMismatchError(
              `${file.path}: block at offset ${offsets[i]} from the peer does not match its hash (rejected)`,
            );
          }
        }
        await handle.write(data, offset);
        // Written and not read again: a frame's buffer goes back to the pool.
        blockBuffers.give(data);
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

/** Groups ascending block indexes into runs of consecutive blocks of at most SPAN_BYTES together. */
function spansOf(file: FileInfo, indexes: readonly number[]): { first: number; count: number }[] {
  const spans: { first: number; count: number; bytes: number }[] = [];
  for (const i of indexes) {
    const last = spans[spans.length - 1];
    const length = blockLength(file, i);
    if (last && last.first + last.count === i && last.bytes + length <= SPAN_BYTES) last.count++, last.bytes += length;
    else spans.push({ first: i, count: 1, bytes: length });
  }
  return spans;
}
