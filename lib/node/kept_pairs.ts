import type { FileInfo } from "../model/mod.ts";
import type { IndexPair } from "../store/mod.ts";

/** Pairs a pull pass keeps from its count, at most (a small file's entry takes about 750 bytes). */
export const KEPT_PAIRS = 4096;
/** Bytes of block lists the kept pairs may hold, at most. */
export const KEPT_BLOCK_LIST_BYTES = 4 << 20;

/** What {@linkcode keeping} kept: every pair it passed on (`whole`), or only the first ones. */
export interface KeptPairs {
  readonly pairs: IndexPair[];
  whole: boolean;
}

/**
 * Passes `pairs` on and keeps them while they are few (`limits`: KEPT_PAIRS pairs and
 * KEPT_BLOCK_LIST_BYTES of block lists by default), so that a pass counting what it will do
 * (for its progress) does not read the index from the store a second time: each pair read
 * costs 20-50 us. Past a limit, `kept.whole` turns false and the rest is only passed on.
 */
export async function* keeping(
  pairs: AsyncIterable<IndexPair>,
  kept: KeptPairs,
  limits = { pairs: KEPT_PAIRS, blockListBytes: KEPT_BLOCK_LIST_BYTES },
): AsyncGenerator<IndexPair> {
  let bytes = 0;
  for await (const pair of pairs) {
    if (kept.whole) {
      bytes += blockListBytes(pair.local) + blockListBytes(pair.remote);
      if (kept.pairs.length < limits.pairs && bytes <= limits.blockListBytes) kept.pairs.push(pair);
      else {
        kept.whole = false;
        kept.pairs.length = 0;
      }
    }
    yield pair;
  }
}

function blockListBytes(file: FileInfo | undefined): number {
  return file ? file.blockHashes.byteLength + file.blockSizes.byteLength : 0;
}
