import { blockCount, blockHash, type FileInfo, toHex } from "../model/mod.ts";
import { del, type Mutation, put } from "./_batch.ts";
import { pathKey } from "./_path_key.ts";

/** Block hash lists up to this size stay inside the entry's value (KV values max 64 KiB). */
const INLINE_HASH_BYTES = 16 * 1024;
const HASH_CHUNK_BYTES = 32 * 1024;
const ENTRY_OVERHEAD_BYTES = 400;

/** An entry as stored: its block hashes inline, or counted in chunks. */
export type StoredFile = Omit<FileInfo, "blockHashes"> & { blockHashes?: Uint8Array; hashChunks: number };

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

  async *list(folderId: string, owner: string): AsyncGenerator<FileInfo> {
    for await (const e of this.#kv.list<StoredFile>({ prefix: ["file", folderId, owner] }, { batchSize: 1000 })) {
      yield await this.load(folderId, owner, e.value);
    }
  }

  async storedMany(folderId: string, owner: string, paths: readonly string[]): Promise<(StoredFile | undefined)[]> {
    return await this.storedManyByKey(folderId, owner, paths.map(pathKey));
  }

  /** Reads entries ten keys a call (KV's getMany limit), several calls at once. */
  async storedManyByKey(
    folderId: string,
    owner: string,
    keys: readonly string[],
  ): Promise<(StoredFile | undefined)[]> {
    const calls: Promise<Deno.KvEntryMaybe<StoredFile>[]>[] = [];
    for (let i = 0; i < keys.length; i += 10) {
      calls.push(this.#kv.getMany<StoredFile[]>(keys.slice(i, i + 10).map((k) => ["file", folderId, owner, k])));
    }
    return (await Promise.all(calls)).flat().map((e) => e.value ?? undefined);
  }

  async load(folderId: string, owner: string, stored: StoredFile): Promise<FileInfo> {
    const { hashChunks, blockHashes, ...rest } = stored;
    if (blockHashes) return { ...rest, blockHashes };
    const key = pathKey(stored.path);
    const chunks = await this.#kv.getMany<Uint8Array[]>(
      Array.from({ length: hashChunks }, (_, i) => ["hashes", folderId, owner, key, i]),
    );
    const all = new Uint8Array(chunks.reduce((n, c) => n + (c.value?.length ?? 0), 0));
    let at = 0;
    for (const c of chunks) {
      if (!c.value) throw new Error(`index entry ${stored.path} lost a block hash chunk`);
      all.set(c.value, at);
      at += c.value.length;
    }
    return { ...rest, blockHashes: all };
  }

  mutations(folderId: string, owner: string, file: FileInfo, previous: StoredFile | undefined): Mutation[] {
    const key = pathKey(file.path);
    const out: Mutation[] = [];
    const hashes = file.blockHashes;
    let chunks = 0;
    let stored: StoredFile;
    if (hashes.length <= INLINE_HASH_BYTES) {
      stored = { ...file, hashChunks: 0 };
    } else {
      const { blockHashes: _, ...rest } = file;
      stored = { ...rest, hashChunks: Math.ceil(hashes.length / HASH_CHUNK_BYTES) };
      for (; chunks * HASH_CHUNK_BYTES < hashes.length; chunks++) {
        const part = hashes.slice(chunks * HASH_CHUNK_BYTES, (chunks + 1) * HASH_CHUNK_BYTES);
        out.push(put(["hashes", folderId, owner, key, chunks], part, part.length + key.length));
      }
    }
    for (let i = chunks; i < (previous?.hashChunks ?? 0); i++) out.push(del(["hashes", folderId, owner, key, i]));
    const bytes = ENTRY_OVERHEAD_BYTES + 2 * file.path.length + (stored.blockHashes?.length ?? 0) +
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
    for (let i = 0; i < blockCount(f); i++) {
      const hash = blockHash(f, i);
      const hex = toHex(hash);
      if (!out.has(hex)) out.set(hex, { hash, offset: i * f.blockSize });
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
