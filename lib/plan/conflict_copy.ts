import { conflictName, type FileInfo, increment } from "../model/mod.ts";

/**
 * The entry device `self` records for its own version of a path when a peer's version wins
 * and its own is kept beside it: named for the time `at` and whoever made that version, with
 * a new version vector of `self`'s alone (the copy is a new file, which every peer takes),
 * and a sequence the store assigns.
 *
 * @example
 * ```ts
 * import { conflictCopyOf } from "./conflict_copy.ts";
 * import assert from "node:assert/strict";
 * const mine = { path: "notes.txt", type: "file", size: 4, mtimeNs: 1n, mode: 0o644, deleted: false,
 *   version: { B: 3, A: 1 }, sequence: 9, blockSizes: new Uint32Array(), blockHashes: new Uint8Array(),
 *   contentHash: new Uint8Array(32), symlinkTarget: "", modifiedBy: "B", inode: 7 } as const;
 * const copy = conflictCopyOf(mine, new Date(Date.UTC(2026, 10, 24, 12)), "B");
 * assert.equal(copy.path, "notes.sync-conflict-20261124-120000-B.txt");
 * assert.deepEqual(copy.version, { B: 1 });
 * ```
 */
export function conflictCopyOf(live: FileInfo, at: Date, self: string): FileInfo {
  return {
    ...live,
    path: conflictName(live.path, at, live.modifiedBy || self),
    version: increment({}, self),
    modifiedBy: self,
    sequence: 0,
  };
}
