import { blockCount, blockHash, type FileInfo, type FolderMode, toHex } from "../model/mod.ts";
import { KvBatch, type Mutation } from "./_batch.ts";
import { compareKeyParts, pathKey } from "./_path_key.ts";
import { ensurePrivateFile } from "./home.ts";

/** A folder this device replicates. */
export interface FolderRecord {
  readonly id: string;
  readonly label: string;
  /** Absolute path of the folder on this device. */
  readonly path: string;
  /** Random identity of this device's index of the folder; a new one restarts sequences. */
  readonly indexId: string;
  /** As set by `share --mode` or `join --mode` (absent: send-receive). */
  readonly mode?: FolderMode;
  /** This device made the folder's marker file: from then on, a root without it is not used. */
  readonly marked?: boolean;
}

/** A device this device knows. */
export interface PeerRecord {
  /** Device ID in display form. */
  readonly deviceId: string;
  readonly name: string;
  /** Last address it was reached at (`host:port`), or "" when it dialled us. */
  readonly address: string;
  /**
   * Whether it may open sessions with this device: it used an invite, was approved or named in
   * `share_with`, or this device accepted a folder it offered. False once revoked.
   */
  readonly trusted: boolean;
  /** Folders it may be offered: the folder of the invite it used, or those it was approved to. */
  readonly invitedTo: readonly string[];
  /** When a session with it last started or ended (ms since the epoch). */
  readonly lastSeenMs?: number;
}

/** The last problem a device reported (a warning or an error), with what it concerned. */
export interface LastError {
  readonly message: string;
  readonly atMs: number;
  readonly folder?: string;
  readonly peer?: string;
}

/** An invite to a folder: who presents a proof made with its secret is trusted. */
export interface InviteRecord {
  /** Random ID, the key of the record. */
  readonly id: string;
  readonly folderId: string;
  /** The public key of the invite's secret: it checks proofs and cannot make one (the secret is never stored). */
  readonly publicKey: Uint8Array;
  readonly expiresAtMs: number;
  readonly usesLeft: number;
}

/** How much of a peer's index of a folder this device holds. */
export interface RemoteIndexState {
  readonly indexId: string;
  readonly sequence: number;
}

/** Where a local file held a block: folder-relative path and byte offset. */
export interface BlockLocation {
  readonly path: string;
  readonly offset: number;
}

/** A local entry paired with a peer's entry for the same path (either may be missing). */
export interface IndexPair {
  readonly local?: FileInfo;
  readonly remote?: FileInfo;
}

const LOCAL = "local";
/** Block hash lists up to this size stay inside the entry's value (KV values max 64 KiB). */
const INLINE_HASH_BYTES = 16 * 1024;
const HASH_CHUNK_BYTES = 32 * 1024;
const ENTRY_OVERHEAD_BYTES = 400;

type StoredFile = Omit<FileInfo, "blockHashes"> & { blockHashes?: Uint8Array; hashChunks: number };

/**
 * The device's metadata in Deno KV: folders, peers, the local index with its sequence
 * index, and the index each peer announced. Hands out model types only. Related writes
 * go in one atomic commit; long block lists are split under KV's 64 KiB value limit.
 *
 * Keys: `folder/{id}`, `peer/{device}`, `invite/{id}`, `share/{folder}/{device}`, `remote/{folder}/{device}`,
 * `file/{folder}/{owner}/{path}`, `hashes/{folder}/{owner}/{path}/{n}`,
 * `bySeq/{folder}/{sequence}` (local changes in order), `rseq/{folder}/{device}/{sequence}` (a
 * peer's, in the order they came), `block/{folder}/{hash}/{path}` (the block map of local files);
 * owner is "local" or a peer's device ID.
 */
export class Store {
  #kv: Deno.Kv;
  #sequences = new Map<string, number>();
  #localWrites: Promise<unknown> = Promise.resolve();

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Opens (creating) the KV database at `path`, or an in-memory one for ":memory:". The
   * database file is made private first: SQLite gives its -wal and -shm files the same mode.
   */
  static async open(path: string): Promise<Store> {
    if (path !== ":memory:") await ensurePrivateFile(path);
    return new Store(await Deno.openKv(path));
  }

  /** Closes the database. */
  close(): void {
    this.#kv.close();
  }

  // --- folders, peers, shares ---

  /** Saves a folder record. */
  async putFolder(folder: FolderRecord): Promise<void> {
    await this.#kv.set(["folder", folder.id], folder);
  }

  /** The folder with this ID, if known. */
  async getFolder(id: string): Promise<FolderRecord | undefined> {
    return (await this.#kv.get<FolderRecord>(["folder", id])).value ?? undefined;
  }

  /** Every folder of this device. */
  async listFolders(): Promise<FolderRecord[]> {
    return await collect(this.#kv.list<FolderRecord>({ prefix: ["folder"] }));
  }

  /** Saves a peer record. */
  async putPeer(peer: PeerRecord): Promise<void> {
    await this.#kv.set(["peer", peer.deviceId], peer);
  }

  /** The peer with this device ID, if known. */
  async getPeer(deviceId: string): Promise<PeerRecord | undefined> {
    return (await this.#kv.get<PeerRecord>(["peer", deviceId])).value ?? undefined;
  }

  /** Every peer this device knows. */
  async listPeers(): Promise<PeerRecord[]> {
    return await collect(this.#kv.list<PeerRecord>({ prefix: ["peer"] }));
  }

  /** Distrusts a peer and stops sharing every folder with it; false when it is unknown. */
  async revokePeer(deviceId: string): Promise<boolean> {
    const peer = await this.getPeer(deviceId);
    if (!peer) return false;
    const op = this.#kv.atomic().set(["peer", deviceId], { ...peer, trusted: false, invitedTo: [] });
    for (const folder of await this.listFolders()) op.delete(["share", folder.id, deviceId]);
    await op.commit();
    return true;
  }

  /** Records the last problem the device reported. */
  async putLastError(error: LastError): Promise<void> {
    await this.#kv.set(["meta", "lastError"], error);
  }

  /** The last problem the device reported, if any. */
  async getLastError(): Promise<LastError | undefined> {
    return (await this.#kv.get<LastError>(["meta", "lastError"])).value ?? undefined;
  }

  /** Saves an invite. */
  async putInvite(invite: InviteRecord): Promise<void> {
    await this.#kv.set(["invite", invite.id], invite);
  }

  /** Every stored invite, expired or not. */
  async listInvites(): Promise<InviteRecord[]> {
    return await collect(this.#kv.list<InviteRecord>({ prefix: ["invite"] }));
  }

  /**
   * Uses an invite once: decrements its uses (deleting it at zero) unless another use got
   * there first. Returns whether this use counted.
   */
  async useInvite(invite: InviteRecord): Promise<boolean> {
    const current = await this.#kv.get<InviteRecord>(["invite", invite.id]);
    if (!current.value || current.value.usesLeft < 1) return false;
    const op = this.#kv.atomic().check(current);
    if (current.value.usesLeft === 1) op.delete(["invite", invite.id]);
    else op.set(["invite", invite.id], { ...current.value, usesLeft: current.value.usesLeft - 1 });
    return (await op.commit()).ok;
  }

  /** Deletes an invite. */
  async deleteInvite(id: string): Promise<void> {
    await this.#kv.delete(["invite", id]);
  }

  /** Records that `folderId` is shared with `deviceId`. */
  async addShare(folderId: string, deviceId: string): Promise<void> {
    await this.#kv.set(["share", folderId, deviceId], true);
  }

  /** Device IDs the folder is shared with. */
  async sharesOf(folderId: string): Promise<string[]> {
    const out: string[] = [];
    for await (const e of this.#kv.list({ prefix: ["share", folderId] })) out.push(e.key[2] as string);
    return out;
  }

  // --- local index ---

  /** Highest sequence of the local index of a folder (0 when empty). */
  async localSequence(folderId: string): Promise<number> {
    let seq = this.#sequences.get(folderId);
    if (seq === undefined) {
      // The newest change is the last key of the sequence index (superseded ones are deleted).
      const [last] = await Array.fromAsync(this.#kv.list({ prefix: ["bySeq", folderId] }, { reverse: true, limit: 1 }));
      seq = (last?.key[2] as number | undefined) ?? 0;
      this.#sequences.set(folderId, seq);
    }
    return seq;
  }

  /** The local entry of a path. */
  async getLocal(folderId: string, path: string): Promise<FileInfo | undefined> {
    return await this.#getFile(folderId, LOCAL, path);
  }

  /**
   * The local entry of a path without its block hashes: what checking a file on disk
   * against the index needs, read without the hash chunks of a large file.
   */
  async getLocalStat(folderId: string, path: string): Promise<Omit<FileInfo, "blockHashes"> | undefined> {
    const stored = (await this.#kv.get<StoredFile>(["file", folderId, LOCAL, pathKey(path)])).value;
    if (!stored) return undefined;
    const { hashChunks: _, blockHashes: __, ...rest } = stored;
    return rest;
  }

  /** Local entries of these paths, in the same order. */
  async getLocalMany(folderId: string, paths: readonly string[]): Promise<(FileInfo | undefined)[]> {
    const stored = await this.#getStoredMany(folderId, LOCAL, paths);
    return await Promise.all(stored.map((s) => s && this.#load(folderId, LOCAL, s)));
  }

  /**
   * Writes local changes, giving each the next local sequence (in the order given).
   * Returns the entries as stored.
   */
  commitLocal(folderId: string, files: readonly FileInfo[]): Promise<FileInfo[]> {
    // Sequences are handed out in commit order: one local commit at a time.
    const result = this.#localWrites.then(() => this.#commitLocal(folderId, files));
    this.#localWrites = result.catch(() => undefined);
    return result;
  }

  async #commitLocal(folderId: string, files: readonly FileInfo[]): Promise<FileInfo[]> {
    let seq = await this.localSequence(folderId);
    const batch = new KvBatch(this.#kv);
    const out: FileInfo[] = [];
    for (const previous of await this.#getStoredMany(folderId, LOCAL, files.map((f) => f.path))) {
      const file = { ...files[out.length], sequence: ++seq };
      const key = pathKey(file.path);
      const group = this.#fileMutations(folderId, LOCAL, file, previous);
      if (previous) group.push(del(["bySeq", folderId, previous.sequence]));
      group.push(put(["bySeq", folderId, seq], key, key.length));
      await batch.add(group);
      // The block map may trail the entry by a commit: readers verify every block they take.
      const old = previous && !previous.deleted ? await this.#load(folderId, LOCAL, previous) : undefined;
      for (const m of blockMapMutations(folderId, key, old, file)) await batch.add([m]);
      out.push(file);
    }
    await batch.flush();
    this.#sequences.set(folderId, seq);
    return out;
  }

  /**
   * Where local files held a block with this hash when last scanned or written (a few
   * candidates; the caller verifies the bytes, as files change without the index knowing).
   */
  async findBlock(folderId: string, hash: Uint8Array): Promise<BlockLocation[]> {
    const found: BlockLocation[] = [];
    for await (const e of this.#kv.list<BlockLocation>({ prefix: ["block", folderId, hash] }, { limit: 4 })) {
      found.push(e.value);
    }
    return found;
  }

  /** Local entries changed after sequence `after`, in sequence order. */
  async *localSince(folderId: string, after: number): AsyncGenerator<FileInfo> {
    for await (const { stored } of this.#sinceSequence(["bySeq", folderId], LOCAL, folderId, after)) {
      yield await this.#load(folderId, LOCAL, stored);
    }
  }

  /**
   * Entries of `owner` listed in the sequence index under `prefix` after sequence `after`,
   * in sequence order, read a hundred at a time. An entry changed again since it was listed
   * comes later, at its new sequence: yielding it here would break the ascending order peers
   * rely on (and may reject).
   */
  async *#sinceSequence(
    prefix: Deno.KvKey,
    owner: string,
    folderId: string,
    after: number,
  ): AsyncGenerator<{ key: string; stored: StoredFile }> {
    const entries = this.#kv.list<string>({ start: [...prefix, after + 1], end: [...prefix, Infinity] }, {
      batchSize: 100,
    });
    let listed: { sequence: number; key: string }[] = [];
    const drain = async function* (this: Store) {
      const stored = await this.#getStoredManyByKey(folderId, owner, listed.map((l) => l.key));
      const batch = listed;
      listed = [];
      for (let i = 0; i < stored.length; i++) {
        if (stored[i]?.sequence === batch[i].sequence) yield { key: batch[i].key, stored: stored[i]! };
      }
    }.bind(this);
    for await (const e of entries) {
      listed.push({ sequence: e.key[prefix.length] as number, key: e.value });
      if (listed.length >= 100) yield* drain();
    }
    yield* drain();
  }

  /** Every local entry of a folder, in path-key order. */
  async *listLocal(folderId: string): AsyncGenerator<FileInfo> {
    yield* this.#listFiles(folderId, LOCAL);
  }

  /**
   * Local entries whose path starts with `prefix` ("" for all). Paths too long for a KV key
   * are stored under a hash and are only found with the empty prefix.
   */
  async *listLocalUnder(folderId: string, prefix: string): AsyncGenerator<FileInfo> {
    if (prefix === "") return yield* this.#listFiles(folderId, LOCAL);
    const selector = {
      start: ["file", folderId, LOCAL, prefix],
      end: ["file", folderId, LOCAL, prefix + "\u{10FFFF}"],
    };
    for await (const e of this.#kv.list<StoredFile>(selector, { batchSize: 500 })) {
      yield await this.#load(folderId, LOCAL, e.value);
    }
  }

  // --- remote indexes ---

  /** How much of a peer's index this device holds. */
  async remoteState(folderId: string, deviceId: string): Promise<RemoteIndexState> {
    return (await this.#kv.get<RemoteIndexState>(["remote", folderId, deviceId])).value ?? { indexId: "", sequence: 0 };
  }

  /** Forgets a peer's index of a folder (it restarted its index under a new ID). */
  async resetRemote(folderId: string, deviceId: string, indexId: string): Promise<void> {
    const batch = new KvBatch(this.#kv);
    for (const prefix of [["file", folderId, deviceId], ["hashes", folderId, deviceId], ["rseq", folderId, deviceId]]) {
      for await (const e of this.#kv.list({ prefix })) await batch.add([del(e.key)]);
    }
    await batch.add([put(["remote", folderId, deviceId], { indexId, sequence: 0 }, 100)]);
    await batch.flush();
  }

  /** Stores a batch of a peer's index and how far it now reaches. */
  async applyRemote(
    folderId: string,
    deviceId: string,
    files: readonly FileInfo[],
    state: RemoteIndexState,
  ): Promise<void> {
    const batch = new KvBatch(this.#kv);
    const previous = await this.#getStoredMany(folderId, deviceId, files.map((f) => f.path));
    for (let i = 0; i < files.length; i++) {
      const group = this.#fileMutations(folderId, deviceId, files[i], previous[i]);
      const key = pathKey(files[i].path);
      if (previous[i]) group.push(del(["rseq", folderId, deviceId, previous[i]!.sequence]));
      group.push(put(["rseq", folderId, deviceId, files[i].sequence], key, key.length));
      await batch.add(group);
    }
    await batch.add([put(["remote", folderId, deviceId], state, 100)]);
    await batch.flush();
  }

  /** A peer's entries of these paths, in the same order. */
  async getRemoteMany(folderId: string, deviceId: string, paths: readonly string[]): Promise<(FileInfo | undefined)[]> {
    const stored = await this.#getStoredMany(folderId, deviceId, paths);
    return await Promise.all(stored.map((s) => s && this.#load(folderId, deviceId, s)));
  }

  /** Every entry of a peer's index of a folder, in path-key order. */
  async *listRemote(folderId: string, deviceId: string): AsyncGenerator<FileInfo> {
    yield* this.#listFiles(folderId, deviceId);
  }

  /**
   * Walks the local index and a peer's index of a folder together, in path-key order
   * (parents before children), pairing entries of the same path. Streams: memory does not
   * grow with the folder.
   */
  async *pairWithRemote(folderId: string, deviceId: string): AsyncGenerator<IndexPair> {
    const locals = this.#listFiles(folderId, LOCAL);
    const remotes = this.#listFiles(folderId, deviceId);
    let l = await locals.next();
    let r = await remotes.next();
    while (!l.done || !r.done) {
      const order = l.done ? 1 : r.done ? -1 : compareKeyParts(pathKey(l.value.path), pathKey(r.value.path));
      if (order < 0) {
        yield { local: l.value as FileInfo };
        l = await locals.next();
      } else if (order > 0) {
        yield { remote: r.value as FileInfo };
        r = await remotes.next();
      } else {
        yield { local: l.value as FileInfo, remote: r.value as FileInfo };
        l = await locals.next();
        r = await remotes.next();
      }
    }
  }

  /**
   * A peer's entries of a folder that arrived with its sequence above `after`, in that
   * order, each paired with the local entry of its path: what a pull must look at once it
   * has handled everything up to `after`. Streams, a hundred entries at a time.
   */
  async *remoteSince(folderId: string, deviceId: string, after: number): AsyncGenerator<IndexPair> {
    const pending: { key: string; stored: StoredFile }[] = [];
    const drain = async function* (this: Store) {
      const locals = await this.#getStoredManyByKey(folderId, LOCAL, pending.map((p) => p.key));
      for (const [i, { stored }] of pending.entries()) {
        const local = locals[i] && await this.#load(folderId, LOCAL, locals[i]!);
        yield { local, remote: await this.#load(folderId, deviceId, stored) };
      }
      pending.length = 0;
    }.bind(this);
    for await (const listed of this.#sinceSequence(["rseq", folderId, deviceId], deviceId, folderId, after)) {
      pending.push(listed);
      if (pending.length >= 100) yield* drain();
    }
    yield* drain();
  }

  // --- entries ---

  async #getFile(folderId: string, owner: string, path: string): Promise<FileInfo | undefined> {
    const stored = (await this.#kv.get<StoredFile>(["file", folderId, owner, pathKey(path)])).value;
    return stored ? await this.#load(folderId, owner, stored) : undefined;
  }

  async *#listFiles(folderId: string, owner: string): AsyncGenerator<FileInfo> {
    for await (const e of this.#kv.list<StoredFile>({ prefix: ["file", folderId, owner] }, { batchSize: 500 })) {
      yield await this.#load(folderId, owner, e.value);
    }
  }

  async #getStoredMany(folderId: string, owner: string, paths: readonly string[]): Promise<(StoredFile | undefined)[]> {
    return await this.#getStoredManyByKey(folderId, owner, paths.map(pathKey));
  }

  /** Reads entries ten keys a call (KV's getMany limit), several calls at once. */
  async #getStoredManyByKey(
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

  async #load(folderId: string, owner: string, stored: StoredFile): Promise<FileInfo> {
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

  #fileMutations(folderId: string, owner: string, file: FileInfo, previous: StoredFile | undefined): Mutation[] {
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
function blockMapMutations(folderId: string, key: string, old: FileInfo | undefined, file: FileInfo): Mutation[] {
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

function put(key: Deno.KvKey, value: unknown, bytes: number): Mutation {
  return { key, value, bytes: bytes + 64 };
}

function del(key: Deno.KvKey): Mutation {
  return { key, value: null, bytes: 64 };
}

async function collect<T>(iter: Deno.KvListIterator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of iter) out.push(e.value);
  return out;
}
