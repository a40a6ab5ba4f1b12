import { blockCount, blockHash, blockOffsets, type FileInfo, HASH_BYTES, toHex } from "../model/mod.ts";
import { del, type Mutation, put } from "./_batch.ts";
import { pathKey } from "./_path_key.ts";

/** Block lists up to this many blocks stay inside the entry's value (KV values max 64 KiB). */
const INLINE_BLOCKS = 512;
/** Blocks of one chunk: 32 KiB of hashes and 4 KiB of sizes. */
const CHUNK_BLOCKS = 1024;
const ENTRY_OVERHEAD_BYTES = 400;

/**
 * An entry as stored: its block hashes and sizes inline, or counted in chunks. Entries
 * written before blocks were content-defined hold a fixed `blockSize` instead of sizes (and
 * their chunks hashes only): they load as blocks of that size, a block list as valid as any.
 */
export type StoredFile = Omit<FileInfo, "blockHashes" | "blockSizes"> & {
  blockHashes?: Uint8Array;
  blockSizes?: Uint32Array;
  hashChunks: number;
  blockSize?: number;
};

/** A chunk of a long block list (before content-defined blocks: its hashes only). */
type BlockChunk = { hashes: Uint8Array; sizes: Uint32Array } | Uint8Array;

/**
 * Index entries in KV: `file/{folder}/{owner}/{path}` holds an entry, with its block hashes
 * inline up to INLINE_HASH_BYTES and otherwise in `hashes/{folder}/{owner}/{path}/{n}` chunks
 * (KV values are at most 64 KiB). Reads load the chunks back; writes are mutations for a batch.
 */
export class FileEntries {
  #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  async get(folderId: string, owner: string, path: string): Promise<FileInfo | undefined> {
    const stored = (await this.#kv.get<StoredFile>(["file", folderId, owner, pathKey(path)])).value;
    return stored ? await this.load(folderId, owner, stored) : undefined;
  }

  /** Every entry of `owner` in path-key order, read `batchSize` at a time. */
  async *list(folderId: string, owner: string, batchSize = 1000): AsyncGenerator<FileInfo> {
    for await (const e of this.#kv.list<StoredFile>({ prefix: ["file", folderId, owner] }, { batchSize })) {
      yield await this.load(folderId, owner, e.value);
    }
  }

  async storedMany(folderId: string, owner: string, paths: readonly string[]): Promise<(StoredFile | undefined)[]> {
    return await this.storedManyByKey(folderId, owner, paths.map(pathKey));
  }

  /** Reads entries of these path keys, in the same order. */
  async storedManyByKey(
    folderId: string,
    owner: string,
    keys: readonly string[],
  ): Promise<(StoredFile | undefined)[]> {
    return await getAll<StoredFile>(this.#kv, keys.map((k) => ["file", folderId, owner, k]));
  }

  async load(folderId: string, owner: string, stored: StoredFile): Promise<FileInfo> {
    const { hashChunks, blockHashes, blockSizes, blockSize: _fixed, ...rest } = stored;
    if (blockHashes) return { ...rest, blockHashes, blockSizes: blockSizes ?? fixedSizes(stored, blockHashes) };
    const key = pathKey(stored.path);
    const chunks = (await getAll<BlockChunk>(
      this.#kv,
      Array.from({ length: hashChunks }, (_, i) => ["hashes", folderId, owner, key, i]),
    )).map((c) => {
      if (!c) throw new Error(`index entry ${stored.path} lost a block hash chunk`);
      return c instanceof Uint8Array ? { hashes: c, sizes: undefined } : c;
    });
    const hashes = concat(chunks.map((c) => c.hashes), Uint8Array);
    const sizes = chunks.every((c) => c.sizes) ? concat(chunks.map((c) => c.sizes!), Uint32Array) : undefined;
    return { ...rest, blockHashes: hashes, blockSizes: sizes ?? fixedSizes(stored, hashes) };
  }

  mutations(folderId: string, owner: string, file: FileInfo, previous: StoredFile | undefined): Mutation[] {
    const key = pathKey(file.path);
    const out: Mutation[] = [];
    const count = blockCount(file);
    let chunks = 0;
    let stored: StoredFile;
    if (count <= INLINE_BLOCKS) {
      stored = { ...file, hashChunks: 0 };
    } else {
      const { blockHashes, blockSizes, ...rest } = file;
      stored = { ...rest, hashChunks: Math.ceil(count / CHUNK_BLOCKS) };
      for (; chunks * CHUNK_BLOCKS < count; chunks++) {
        const first = chunks * CHUNK_BLOCKS;
        const end = Math.min(count, first + CHUNK_BLOCKS);
        const chunk = {
          hashes: blockHashes.slice(first * HASH_BYTES, end * HASH_BYTES),
          sizes: blockSizes.slice(first, end),
        };
        out.push(put(["hashes", folderId, owner, key, chunks], chunk, (end - first) * 36 + key.length + 64));
      }
    }
    for (let i = chunks; i < (previous?.hashChunks ?? 0); i++) out.push(del(["hashes", folderId, owner, key, i]));
    const bytes = ENTRY_OVERHEAD_BYTES + 2 * file.path.length + (stored.blockHashes ? count * 36 : 0) +
      Object.keys(file.version).length * 24;
    out.push(put(["file", folderId, owner, key], stored, bytes));
    return out;
  }
}

/**
 * Block-map changes for one local entry: each block of the new version is findable by its
 * hash, and the blocks only the old version had are forgotten.
 */
export function blockMapMutations(
  folderId: string,
  key: string,
  old: FileInfo | undefined,
  file: FileInfo,
): Mutation[] {
  const blocksOf = (f: FileInfo | undefined) => {
    const out = new Map<string, { hash: Uint8Array; offset: number }>();
    if (!f || f.deleted || f.type !== "file") return out;
    const offsets = blockOffsets(f);
    for (let i = 0; i < blockCount(f); i++) {
      const hash = blockHash(f, i);
      const hex = toHex(hash);
      if (!out.has(hex)) out.set(hex, { hash, offset: offsets[i] });
    }
    return out;
  };
  const before = blocksOf(old);
  const after = blocksOf(file);
  const mutations: Mutation[] = [];
  for (const [hex, { hash }] of before) if (!after.has(hex)) mutations.push(del(["block", folderId, hash, key]));
  for (const { hash, offset } of after.values()) {
    mutations.push(
      put(["block", folderId, hash, key], { path: file.path, offset }, file.path.length + key.length + 48),
    );
  }
  return mutations;
}

/** The values of these keys, in order: ten keys a call (KV's getMany limit), several calls at once. */
async function getAll<T>(kv: Deno.Kv, keys: readonly Deno.KvKey[]): Promise<(T | undefined)[]> {
  const calls: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += 10) calls.push(kv.getMany<T[]>(keys.slice(i, i + 10)));
  return (await Promise.all(calls)).flat().map((e) => e.value ?? undefined);
}

/** The arrays joined into one. */
function concat<T extends Uint8Array | Uint32Array>(parts: T[], of: { new (length: number): T }): T {
  const all = new of(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, at), at += p.length;
  return all;
}

/** The sizes of an entry stored with fixed-size blocks: all `blockSize` but the last. */
function fixedSizes(stored: StoredFile, hashes: Uint8Array): Uint32Array {
  const count = hashes.length / HASH_BYTES;
  const sizes = new Uint32Array(count).fill(stored.blockSize ?? 0);
  if (count > 0) sizes[count - 1] = stored.size - (count - 1) * (stored.blockSize ?? 0);
  return sizes;
}
