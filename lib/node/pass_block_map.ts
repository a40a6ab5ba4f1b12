import { blockCount, blockHash, type FileInfo } from "../model/mod.ts";

/** Hash prefixes a pass keeps at most (about 16 bytes each); past them it asks the store for every block. */
const MAX_PREFIXES = 250_000;

/** The block map lookups of a pull pass (the store's, for one folder). */
export interface BlockMapReads {
  /** Whether any local file holds a block. */
  hasBlocks(): Promise<boolean>;
  /** Some local files that held a block with this hash when last indexed. */
  findBlock(hash: Uint8Array): Promise<readonly { path: string; offset: number }[]>;
}

/**
 * A pull pass's view of its folder's block map. When the map is empty as the pass starts (a
 * new replica), the only blocks local files hold are those the pass commits: it keeps their
 * hashes' first 30 bits, and a block none of them matches is not looked up in the store (a new
 * replica of 10,027 files asked the store for every block of every file: 2.5% of its joiner's
 * main thread). A match is looked up as before; so is every block once the map was not empty.
 * Passes and scans of a folder never overlap, so nothing else commits meanwhile.
 */
export class PassBlockMap {
  #reads: BlockMapReads;
  /** Prefixes of every block committed since the map was empty; undefined when not known. */
  #prefixes?: Set<number>;

  private constructor(reads: BlockMapReads, prefixes: Set<number> | undefined) {
    this.#reads = reads;
    this.#prefixes = prefixes;
  }

  /** The view of a pass starting now. */
  static async open(reads: BlockMapReads): Promise<PassBlockMap> {
    return new PassBlockMap(reads, await reads.hasBlocks() ? undefined : new Set());
  }

  /** Whether any local file holds a block (a map found not empty stays so for the pass). */
  any(): Promise<boolean> {
    return Promise.resolve(!this.#prefixes || this.#prefixes.size > 0);
  }

  /** Local files that may hold a block with this hash (the caller verifies them). */
  async find(hash: Uint8Array): Promise<readonly { path: string; offset: number }[]> {
    if (this.#prefixes && !this.#prefixes.has(prefixOf(hash))) return [];
    return await this.#reads.findBlock(hash);
  }

  /** Told of the entries the pass committed: their blocks are in the map now. */
  committed(files: readonly FileInfo[]): void {
    const prefixes = this.#prefixes;
    if (!prefixes) return;
    for (const file of files) {
      if (file.deleted || file.type !== "file") continue;
      for (let i = 0; i < blockCount(file); i++) prefixes.add(prefixOf(blockHash(file, i)));
    }
    if (prefixes.size > MAX_PREFIXES) this.#prefixes = undefined;
  }
}

/** The first 30 bits of a hash: a small integer, kept unboxed in a Set. */
function prefixOf(hash: Uint8Array): number {
  return (hash[0] << 22) | (hash[1] << 14) | (hash[2] << 6) | (hash[3] >> 2);
}
