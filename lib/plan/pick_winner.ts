import type { FileInfo } from "../model/mod.ts";

/**
 * Of two concurrent versions of one path, the one every device keeps: an edit beats a
 * delete, then the later mtime wins, then the larger `modifiedBy` device, then the larger
 * content hash (then type, mode, symlink target). Symmetric and total, so devices agree
 * without talking.
 *
 * @example
 * ```ts
 * import { pickWinner } from "./pick_winner.ts";
 * import assert from "node:assert/strict";
 * const base = { path: "a", type: "file", size: 0, mode: 0o644, deleted: false, version: {},
 *   sequence: 1, blockSizes: new Uint32Array(), blockHashes: new Uint8Array(), contentHash: new Uint8Array(),
 *   symlinkTarget: "", inode: 0 } as const;
 * const older = { ...base, mtimeNs: 1n, modifiedBy: "BBBBBBB" };
 * const newer = { ...base, mtimeNs: 2n, modifiedBy: "AAAAAAA" };
 * assert.equal(pickWinner(older, newer), newer);
 * ```
 */
export function pickWinner(a: FileInfo, b: FileInfo): FileInfo {
  return beats(a, b) ? a : b;
}

/** True when `a` wins over `b` under the rules of {@linkcode pickWinner}. */
function beats(a: FileInfo, b: FileInfo): boolean {
  if (a.deleted !== b.deleted) return b.deleted;
  if (a.mtimeNs !== b.mtimeNs) return a.mtimeNs > b.mtimeNs;
  if (a.modifiedBy !== b.modifiedBy) return a.modifiedBy > b.modifiedBy;
  const hash = compareBytes(a.contentHash, b.contentHash);
  if (hash !== 0) return hash > 0;
  // Same device, time and content: order by what is left, so the choice stays symmetric.
  if (a.type !== b.type) return a.type > b.type;
  if (a.mode !== b.mode) return a.mode > b.mode;
  return a.symlinkTarget >= b.symlinkTarget;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
