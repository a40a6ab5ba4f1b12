import { type FileInfo, Mutex } from "../model/mod.ts";
import { del, KvBatch, put } from "./_batch.ts";
import { blockMapMutations, FileEntries, type StoredFile } from "./_entries.ts";
import { compareKeyParts, pathKey } from "./_path_key.ts";
import { ensurePrivateFile } from "./home.ts";
import { DeviceRecords } from "./device_records.ts";
import { addTo, type LocalSummary } from "./_local_summary.ts";
import { RecentLocal } from "./_recent_local.ts";
import { RecentRemote } from "./_recent_remote.ts";
import type { BlockLocation, IndexPair, RemoteIndexState } from "./records.ts";

const LOCAL = "local";

/**
 * Told after entries of a folder's index were written: `owner` is "local" or a peer's device
 * ID, `paths` the paths written (undefined: the whole index of that owner was replaced).
 */
export type IndexChangeListener = (folderId: string, owner: string, paths: readonly string[] | undefined) => void;

/**
 * The device's metadata in Deno KV: folders, peers, the local index with its sequence
 * index, and the index each peer announced. Hands out model types only. Related writes
 * go in one atomic commit; long block lists are split under KV's 64 KiB value limit.
 *
 * Keys: `folder/{id}`, `peer/{device}`, `invite/{id}`, `share/{folder}/{device}`, `remote/{folder}/{device}`,
 * `file/{folder}/{owner}/{path}`, `hashes/{folder}/{owner}/{path}/{n}`,
 * `bySeq/{folder}/{sequence}` (local changes in order), `rseq/{folder}/{device}/{sequence}` (a
 * peer's, in the order they came), `block/{folder}/{hash}/{path}` (the block map of local files),
 * `pulled/{folder}/{device}` (how far the last clean pull of a peer's index reached);
 * owner is "local" or a peer's device ID.
 */
export class Store extends DeviceRecords {
  #entries: FileEntries;
  #sequences = new Map<string, number>();
  /** Local commits, one at a time. */
  #localWrites = new Mutex();
  /** Summaries of local indexes counted once, then kept up to date by each local commit. */
  #summaries = new Map<string, { files: number; bytes: number; conflicts: number }>();
  #listeners = new Set<IndexChangeListener>();
  #recent = new RecentLocal();
  #recentRemote = new RecentRemote();
  /**
   * How many entries each peer's index holds (tombstones too), by folder and peer, where known:
   * from an index started over in this process (`resetRemote`), kept by `applyRemote`.
   */
  #remoteCounts = new Map<string, number>();
  /** Each peer's index is written by one call at a time (a batch may take several commits). */
  #remoteWrites = new Map<string, Mutex>();

  private constructor(kv: Deno.Kv) {
    super(kv);
    this.#entries = new FileEntries(kv);
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
    this.kv.close();
  }

  // --- local index ---

  /** Highest sequence of the local index of a folder (0 when empty). */
  async localSequence(folderId: string): Promise<number> {
    let seq = this.#sequences.get(folderId);
    if (seq === undefined) {
      // The newest change is the last key of the sequence index (superseded ones are deleted).
      const [last] = await Array.fromAsync(this.kv.list({ prefix: ["bySeq", folderId] }, { reverse: true, limit: 1 }));
      seq = (last?.key[2] as number | undefined) ?? 0;
      this.#sequences.set(folderId, seq);
    }
    return seq;
  }

  /** The local entry of a path. */
  async getLocal(folderId: string, path: string): Promise<FileInfo | undefined> {
    return await this.#entries.get(folderId, LOCAL, path);
  }

  /**
   * The local entry of a path without its block hashes: what checking a file on disk
   * against the index needs, read without the hash chunks of a large file.
   */
  async getLocalStat(
    folderId: string,
    path: string,
  ): Promise<Omit<FileInfo, "blockHashes" | "blockSizes"> | undefined> {
    const stored = (await this.kv.get<StoredFile>(["file", folderId, LOCAL, pathKey(path)])).value;
    if (!stored) return undefined;
    const { hashChunks: _, blockHashes: __, blockSizes: ___, blockSize: ____, ...rest } = stored;
    return rest;
  }

  /** Local entries of these paths, in the same order. */
  async getLocalMany(folderId: string, paths: readonly string[]): Promise<(FileInfo | undefined)[]> {
    const stored = await this.#entries.storedMany(folderId, LOCAL, paths);
    return await Promise.all(stored.map((s) => s && this.#entries.load(folderId, LOCAL, s)));
  }

  /**
   * Writes local changes, giving each the next local sequence (in the order given).
   * Returns the entries as stored.
   */
  commitLocal(folderId: string, files: readonly FileInfo[]): Promise<FileInfo[]> {
    // Sequences are handed out in commit order: one local commit at a time.
    return this.#localWrites.run(() => this.#commitLocal(folderId, files));
  }

  /**
   * Number and total size of the live files of a folder's local index, and its conflict
   * copies: counted once, then kept up to date by every local commit of this store.
   */
  localSummary(folderId: string): Promise<LocalSummary> {
    const known = this.#summaries.get(folderId);
    if (known) return Promise.resolve({ ...known });
    // Counted between two local commits: none is missed or counted twice.
    return this.#localWrites.run(() => this.#countLocal(folderId));
  }

  /** Subscribes to writes of index entries; returns the unsubscribe function. */
  onIndexChange(listener: IndexChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #countLocal(folderId: string): Promise<LocalSummary> {
    const summary = { files: 0, bytes: 0, conflicts: 0 };
    for await (const f of this.#entries.list(folderId, LOCAL)) addTo(summary, f, 1);
    this.#summaries.set(folderId, summary);
    return { ...summary };
  }

  #changed(folderId: string, owner: string, files: readonly FileInfo[] | undefined): void {
    if (this.#listeners.size === 0) return;
    const paths = files?.map((f) => f.path);
    for (const listener of this.#listeners) listener(folderId, owner, paths);
  }

  async #commitLocal(folderId: string, files: readonly FileInfo[]): Promise<FileInfo[]> {
    try {
      return await this.#writeLocal(folderId, files);
    } catch (e) {
      this.#summaries.delete(folderId); // part of it may have landed: count again when asked
      this.#recent.forget(folderId);
      throw e;
    } finally {
      this.#changed(folderId, LOCAL, files);
    }
  }

  async #writeLocal(folderId: string, files: readonly FileInfo[]): Promise<FileInfo[]> {
    // A path given twice is written once, as the last given: writing both in one batch would
    // read the same old entry for each, and the second could find chunks the first deleted.
    const byPath = new Map(files.map((f) => [f.path, f]));
    if (byPath.size < files.length) files = [...byPath.values()];
    let seq = await this.localSequence(folderId);
    const batch = new KvBatch(this.kv);
    const out: FileInfo[] = [];
    const before: (StoredFile | undefined)[] = [];
    for (const previous of await this.#entries.storedMany(folderId, LOCAL, files.map((f) => f.path))) {
      before.push(previous);
      const file = { ...files[out.length], sequence: ++seq };
      const key = pathKey(file.path);
      const group = this.#entries.mutations(folderId, LOCAL, file, previous);
      if (previous) group.push(del(["bySeq", folderId, previous.sequence]));
      group.push(put(["bySeq", folderId, seq], key, key.length));
      await batch.add(group);
      // The block map may trail the entry by a commit: readers verify every block they take.
      const old = previous && !previous.deleted ? await this.#entries.load(folderId, LOCAL, previous) : undefined;
      for (const m of blockMapMutations(folderId, key, old, file)) await batch.add([m]);
      out.push(file);
    }
    await batch.flush();
    this.#sequences.set(folderId, seq);
    this.#recent.added(folderId, out);
    const summary = this.#summaries.get(folderId);
    if (summary) {
      for (const previous of before) if (previous) addTo(summary, previous, -1);
      for (const file of out) addTo(summary, file, 1);
    }
    return out;
  }

  /**
   * Where local files held a block with this hash when last scanned or written (a few
   * candidates; the caller verifies the bytes, as files change without the index knowing).
   */
  async findBlock(folderId: string, hash: Uint8Array): Promise<BlockLocation[]> {
    const found: BlockLocation[] = [];
    for await (const e of this.kv.list<BlockLocation>({ prefix: ["block", folderId, hash] }, { limit: 4 })) {
      found.push(e.value);
    }
    return found;
  }

  /** Whether any local file of the folder holds a block: false for a new replica's empty block map. */
  async hasBlocks(folderId: string): Promise<boolean> {
    for await (const _ of this.kv.list({ prefix: ["block", folderId] }, { limit: 1 })) return true;
    return false;
  }

  /** Local entries changed after sequence `after`, in sequence order (the latest commits from memory, when they cover it). */
  async *localSince(folderId: string, after: number): AsyncGenerator<FileInfo> {
    const recent = this.#recent.since(folderId, after);
    if (recent) return yield* recent;
    for await (const listed of this.#sinceSequence(["bySeq", folderId], LOCAL, folderId, after)) {
      yield "file" in listed ? listed.file : await this.#entries.load(folderId, LOCAL, listed.stored);
    }
  }

  /**
   * Entries of `owner` listed in the sequence index under `prefix` after sequence `after`,
   * in sequence order, read a hundred at a time. An entry changed again since it was listed
   * comes later, at its new sequence: yielding it here would break the ascending order peers
   * rely on (and may reject). An entry `recent` has is yielded as `file`, the others as
   * `stored`, read from KV.
   */
  async *#sinceSequence(
    prefix: Deno.KvKey,
    owner: string,
    folderId: string,
    after: number,
    recent?: (sequence: number, key: string) => FileInfo | undefined,
  ): AsyncGenerator<Listed> {
    const entries = this.kv.list<string>({ start: [...prefix, after + 1], end: [...prefix, Infinity] }, {
      batchSize: 100,
    });
    let listed: { sequence: number; key: string }[] = [];
    const drain = async function* (this: Store) {
      const batch = listed;
      listed = [];
      const inMemory = batch.map((l) => recent?.(l.sequence, l.key));
      const toRead = batch.filter((_, i) => !inMemory[i]);
      const stored = toRead.length === 0
        ? []
        : await this.#entries.storedManyByKey(folderId, owner, toRead.map((l) => l.key));
      for (let i = 0, read = 0; i < batch.length; i++) {
        const file = inMemory[i];
        if (file) {
          yield { key: batch[i].key, file };
          continue;
        }
        const entry = stored[read++];
        if (entry?.sequence === batch[i].sequence) yield { key: batch[i].key, stored: entry };
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
    yield* this.#entries.list(folderId, LOCAL);
  }

  /**
   * Local entries whose path starts with `prefix` ("" for all). Paths too long for a KV key
   * are stored under a hash and are only found with the empty prefix.
   */
  async *listLocalUnder(folderId: string, prefix: string): AsyncGenerator<FileInfo> {
    if (prefix === "") return yield* this.#entries.list(folderId, LOCAL);
    const selector = {
      start: ["file", folderId, LOCAL, prefix],
      end: ["file", folderId, LOCAL, prefix + "\u{10FFFF}"],
    };
    for await (const e of this.kv.list<StoredFile>(selector, { batchSize: 500 })) {
      yield await this.#entries.load(folderId, LOCAL, e.value);
    }
  }

  // --- remote indexes ---

  /** Runs `write` once the writes to the same peer's index (`index`) begun before it have ended. */
  #inTurn<T>(index: string, write: () => Promise<T>): Promise<T> {
    let writes = this.#remoteWrites.get(index);
    if (!writes) this.#remoteWrites.set(index, writes = new Mutex());
    return writes.run(write);
  }

  /** How much of a peer's index this device holds. */
  async remoteState(folderId: string, deviceId: string): Promise<RemoteIndexState> {
    return (await this.kv.get<RemoteIndexState>(["remote", folderId, deviceId])).value ?? { indexId: "", sequence: 0 };
  }

  /** Forgets a peer's index of a folder (it restarted its index under a new ID). */
  resetRemote(folderId: string, deviceId: string, indexId: string): Promise<void> {
    return this.#inTurn(remoteKey(folderId, deviceId), () => this.#resetRemote(folderId, deviceId, indexId));
  }

  async #resetRemote(folderId: string, deviceId: string, indexId: string): Promise<void> {
    const batch = new KvBatch(this.kv);
    const prefixes = [["file", folderId, deviceId], ["hashes", folderId, deviceId], ["rseq", folderId, deviceId]];
    await batch.add([del(["pulled", folderId, deviceId])]);
    for (const prefix of prefixes) {
      for await (const e of this.kv.list({ prefix })) await batch.add([del(e.key)]);
    }
    await batch.add([put(["remote", folderId, deviceId], { indexId, sequence: 0 }, 100)]);
    const counted = remoteKey(folderId, deviceId);
    this.#remoteCounts.delete(counted);
    this.#recentRemote.forget(counted);
    try {
      await batch.flush();
      this.#remoteCounts.set(counted, 0);
    } finally {
      this.#changed(folderId, deviceId, undefined);
    }
  }

  /** Stores a batch of a peer's index and how far it now reaches. */
  applyRemote(folderId: string, deviceId: string, files: readonly FileInfo[], state: RemoteIndexState): Promise<void> {
    return this.#inTurn(remoteKey(folderId, deviceId), () => this.#applyRemote(folderId, deviceId, files, state));
  }

  async #applyRemote(
    folderId: string,
    deviceId: string,
    files: readonly FileInfo[],
    state: RemoteIndexState,
  ): Promise<void> {
    const batch = new KvBatch(this.kv);
    const previous = await this.#entries.storedMany(folderId, deviceId, files.map((f) => f.path));
    for (let i = 0; i < files.length; i++) {
      const group = this.#entries.mutations(folderId, deviceId, files[i], previous[i]);
      const key = pathKey(files[i].path);
      if (previous[i]) group.push(del(["rseq", folderId, deviceId, previous[i]!.sequence]));
      group.push(put(["rseq", folderId, deviceId, files[i].sequence], key, key.length));
      await batch.add(group);
    }
    await batch.add([put(["remote", folderId, deviceId], state, 100)]);
    const counted = remoteKey(folderId, deviceId);
    const count = this.#remoteCounts.get(counted);
    this.#remoteCounts.delete(counted); // known again once the batch has landed
    try {
      await batch.flush();
      if (count !== undefined) this.#remoteCounts.set(counted, count + previous.filter((p) => !p).length);
      this.#recentRemote.added(counted, files);
    } catch (e) {
      this.#recentRemote.forget(counted);
      throw e;
    } finally {
      this.#changed(folderId, deviceId, files);
    }
  }

  /** A peer's entries of these paths, in the same order. */
  async getRemoteMany(folderId: string, deviceId: string, paths: readonly string[]): Promise<(FileInfo | undefined)[]> {
    const stored = await this.#entries.storedMany(folderId, deviceId, paths);
    return await Promise.all(stored.map((s) => s && this.#entries.load(folderId, deviceId, s)));
  }

  /** Every entry of a peer's index of a folder, in path-key order. */
  async *listRemote(folderId: string, deviceId: string): AsyncGenerator<FileInfo> {
    yield* this.#entries.list(folderId, deviceId);
  }

  /**
   * Walks the local index and a peer's index of a folder together, in path-key order
   * (parents before children), pairing entries of the same path. Streams: memory does not
   * grow with the folder.
   */
  async *pairWithRemote(folderId: string, deviceId: string): AsyncGenerator<IndexPair> {
    // A hundred at a time: two lists a thousand at a time held about 25 MiB more at the peak of
    // a new replica's join of 10,005 small files (two rounds alternating).
    const locals = this.#entries.list(folderId, LOCAL, 100);
    const remotes = this.#entries.list(folderId, deviceId, 100);
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
   * A peer's entries of a folder that arrived with its sequence above `after`, each paired
   * with the local entry of its path, in no set order: those of {@linkcode remoteSince}, read
   * the cheaper way. When they may be most of both indexes (the peer's entry count known, and
   * more of its sequences after `after` than half its entries and the local sequence, which
   * bounds the local entries), both indexes are listed in path order and the rest left out: a
   * listed entry cost about 20 us here, one read by its sequence 80-90 us (10,563 entries).
   */
  async *remoteAfter(folderId: string, deviceId: string, after: number): AsyncGenerator<IndexPair> {
    const count = this.#remoteCounts.get(remoteKey(folderId, deviceId));
    const { sequence } = await this.remoteState(folderId, deviceId);
    const listed = (count ?? Infinity) + await this.localSequence(folderId);
    if (sequence - after <= listed / 2) return yield* this.remoteSince(folderId, deviceId, after);
    for await (const pair of this.pairWithRemote(folderId, deviceId)) {
      if (pair.remote && pair.remote.sequence > after) yield pair;
    }
  }

  /**
   * A peer's entries of a folder that arrived with its sequence above `after`, in that
   * order, each paired with the local entry of its path: what a pull must look at once it
   * has handled everything up to `after`. Streams, a hundred entries at a time.
   */
  async *remoteSince(folderId: string, deviceId: string, after: number): AsyncGenerator<IndexPair> {
    const pending: Listed[] = [];
    const drain = async function* (this: Store) {
      const locals = await this.#entries.storedManyByKey(folderId, LOCAL, pending.map((p) => p.key));
      for (const [i, listed] of pending.entries()) {
        const local = locals[i] && await this.#entries.load(folderId, LOCAL, locals[i]!);
        yield {
          local,
          remote: "file" in listed ? listed.file : await this.#entries.load(folderId, deviceId, listed.stored),
        };
      }
      pending.length = 0;
    }.bind(this);
    const index = remoteKey(folderId, deviceId);
    const recent = (sequence: number, key: string) => this.#recentRemote.entryAt(index, sequence, key);
    for await (const listed of this.#sinceSequence(["rseq", folderId, deviceId], deviceId, folderId, after, recent)) {
      pending.push(listed);
      if (pending.length >= 100) yield* drain();
    }
    yield* drain();
  }
}

/** An entry the sequence index lists: as stored in KV, or as held in memory. */
type Listed = { key: string; stored: StoredFile } | { key: string; file: FileInfo };

/** The key of a peer's index of a folder in maps kept by folder and peer. */
function remoteKey(folderId: string, deviceId: string): string {
  return `${folderId}\0${deviceId}`;
}
