import type { FileInfo } from "../model/mod.ts";
import { pathKey } from "./_path_key.ts";
import { bytesOf } from "./_recent_local.ts";

/** Entries kept per peer's index at most: a few index updates' worth. */
const MAX_ENTRIES = 1024;
/** Bytes kept for all indexes together, block lists included (the index written to least lately goes first). */
const MAX_BYTES = 2 << 20;

/** One peer's index of one folder: its entries stored last, in the order they came. */
interface Kept {
  readonly bySequence: Map<number, FileInfo>;
  /** Each path's sequence in `bySequence`. */
  readonly sequenceOf: Map<string, number>;
  bytes: number;
}

/**
 * The entries of peers' indexes a store wrote last, by folder and peer: the pull pass that
 * follows an index update takes them from here instead of reading back from KV what was
 * just written (on a device serving a new replica, the replica's own entries coming back,
 * a KV read each; a pass that reports progress reads them twice). An entry is handed out
 * only for the sequence and path key the sequence index lists: it then is the entry stored
 * for its path (the index and the entry change in one commit). Bounded in entries per index
 * (the oldest go first) and in bytes for all; what is not here is read from KV.
 */
export class RecentRemote {
  #kept = new Map<string, Kept>();

  /** Records entries of the index `index` (folder and peer) just stored, in the order they came. */
  added(index: string, files: readonly FileInfo[]): void {
    const kept = this.#kept.get(index) ?? { bySequence: new Map(), sequenceOf: new Map(), bytes: 0 };
    // Last in the map: the index written to most lately.
    this.#kept.delete(index);
    this.#kept.set(index, kept);
    for (const file of files) {
      const earlier = kept.sequenceOf.get(file.path);
      if (earlier !== undefined) this.#drop(kept, earlier);
      this.#drop(kept, file.sequence);
      kept.bySequence.set(file.sequence, file);
      kept.sequenceOf.set(file.path, file.sequence);
      kept.bytes += bytesOf(file);
    }
    let bytes = 0;
    for (const other of this.#kept.values()) bytes += other.bytes;
    for (const [other, entries] of this.#kept) {
      if (other === index || bytes <= MAX_BYTES) break;
      this.#kept.delete(other);
      bytes -= entries.bytes;
    }
    for (const sequence of kept.bySequence.keys()) {
      if (kept.bySequence.size <= MAX_ENTRIES && bytes <= MAX_BYTES) break;
      bytes -= bytesOf(kept.bySequence.get(sequence)!);
      this.#drop(kept, sequence);
    }
  }

  /** The entry stored at `sequence` under path key `key`, if here. */
  entryAt(index: string, sequence: number, key: string): FileInfo | undefined {
    const file = this.#kept.get(index)?.bySequence.get(sequence);
    return file && pathKey(file.path) === key ? file : undefined;
  }

  /** Forgets an index's entries (it started over, or a write failed part way: KV alone knows). */
  forget(index: string): void {
    this.#kept.delete(index);
  }

  #drop(kept: Kept, sequence: number): void {
    const file = kept.bySequence.get(sequence);
    if (!file) return;
    kept.bySequence.delete(sequence);
    if (kept.sequenceOf.get(file.path) === sequence) kept.sequenceOf.delete(file.path);
    kept.bytes -= bytesOf(file);
  }
}
