import type { FileInfo } from "../model/mod.ts";

/** Entries kept per folder at most. */
const MAX_ENTRIES = 4096;
/** Bytes kept for all folders together (block lists included): many folders hold no more than one. */
const MAX_BYTES = 4 << 20;

/** One folder's latest local commits: a run of consecutive sequences from `first`. */
interface Run {
  first: number;
  /** By sequence - first; undefined where the path was committed again later. */
  entries: (FileInfo | undefined)[];
  /** Entries before this index are evicted. */
  head: number;
  /** Each path's latest sequence in the run. */
  latest: Map<string, number>;
  bytes: number;
}

/**
 * The local entries a store committed last, per folder, as committed: index senders read
 * what was just written from here instead of back from KV (2% of a new replica's main thread,
 * and once more for every peer a change goes to). Bounded in entries per folder and in bytes
 * for all (the folder committed to least lately is forgotten first); a read it cannot answer
 * whole goes to KV.
 */
export class RecentLocal {
  #runs = new Map<string, Run>();

  /** Records a commit's entries, which carry consecutive sequences following the last recorded. */
  added(folderId: string, files: readonly FileInfo[]): void {
    if (files.length === 0) return;
    let run = this.#runs.get(folderId);
    if (!run || run.first + run.entries.length !== files[0].sequence) {
      run = { first: files[0].sequence, entries: [], head: 0, latest: new Map(), bytes: 0 };
    }
    // Last in the map: the folder committed to most lately.
    this.#runs.delete(folderId);
    this.#runs.set(folderId, run);
    for (const file of files) {
      const earlier = run.latest.get(file.path);
      if (earlier !== undefined) this.#drop(run, earlier - run.first);
      run.entries.push(file);
      run.latest.set(file.path, file.sequence);
      run.bytes += bytesOf(file);
    }
    let others = 0;
    for (const other of this.#runs.values()) if (other !== run) others += other.bytes;
    for (const [id, other] of this.#runs) {
      if (other === run || others + run.bytes <= MAX_BYTES) break;
      this.#runs.delete(id);
      others -= other.bytes;
    }
    while (run.entries.length - run.head > MAX_ENTRIES || others + run.bytes > MAX_BYTES) {
      const file = run.entries[run.head];
      if (file) {
        this.#drop(run, run.head);
        run.latest.delete(file.path);
      }
      run.head++;
    }
    if (run.head > MAX_ENTRIES) {
      run.entries = run.entries.slice(run.head);
      run.first += run.head;
      run.head = 0;
    }
  }

  /**
   * The folder's live entries committed after sequence `after`, in sequence order (none
   * committed again since), when every one of them is here; undefined otherwise.
   */
  since(folderId: string, after: number): FileInfo[] | undefined {
    const run = this.#runs.get(folderId);
    if (!run || after + 1 < run.first + run.head) return undefined;
    const out: FileInfo[] = [];
    for (let i = Math.max(run.head, after + 1 - run.first); i < run.entries.length; i++) {
      const file = run.entries[i];
      if (file) out.push(file);
    }
    return out;
  }

  /** Forgets a folder's entries (a commit that failed part way: KV alone knows what landed). */
  forget(folderId: string): void {
    this.#runs.delete(folderId);
  }

  #drop(run: Run, index: number): void {
    const file = run.entries[index];
    if (!file) return;
    run.bytes -= bytesOf(file);
    run.entries[index] = undefined;
  }
}

/** About what an entry kept in memory takes, block lists included. */
export function bytesOf(file: FileInfo): number {
  return 200 + 2 * file.path.length + file.blockHashes.byteLength + file.blockSizes.byteLength;
}
