/** @module Fixtures of the tests of the recent-entry caches: index entries of a given size. */
import { contentHashOf, type FileInfo } from "../model/mod.ts";

/** An entry of `path` at `sequence` with a list of `blocks` blocks (36 bytes each). */
export function entryAt(path: string, sequence: number, blocks = 1): FileInfo {
  const blockHashes = new Uint8Array(blocks * 32);
  return {
    path,
    type: "file",
    size: blocks,
    mtimeNs: 0n,
    mode: 0o644,
    deleted: false,
    version: { A: 1 },
    sequence,
    blockSizes: new Uint32Array(blocks),
    blockHashes,
    contentHash: contentHashOf(blockHashes),
    symlinkTarget: "",
    modifiedBy: "A",
    inode: 0,
  };
}
