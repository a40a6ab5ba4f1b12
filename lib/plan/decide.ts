import {
  compareVersions,
  type Decision,
  type FileInfo,
  increment,
  merge,
  sameContent,
  sameOnDisk,
} from "../model/mod.ts";
import { pickWinner } from "./pick_winner.ts";

const KEEP: Decision = { action: "keep" };

/**
 * Decides how the local copy of a path on device `self` (its short ID) follows a peer's
 * version of it.
 *
 * - The peer's version is older or equal: keep.
 * - It is newer: take it, as cheaply as the difference allows (record only, metadata only,
 *   fetch, delete).
 * - The two are concurrent: identical entries record the merged vector. Otherwise
 *   {@linkcode pickWinner} decides (on a receive-only folder, `peerWins`, the peer's edit
 *   always wins: local changes there are never sent, only kept); when the peer wins, this device takes the peer's
 *   version (keeping its own content as a conflict copy) under the merged vector plus its
 *   own counter, a new version that dominates both histories.
 *
 * @example
 * ```ts
 * import { decide } from "./decide.ts";
 * import assert from "node:assert/strict";
 * const file = { path: "a", type: "file", size: 0, mtimeNs: 1n, mode: 0o644, deleted: false,
 *   version: { A: 1 }, sequence: 1, blockSizes: new Uint32Array(), blockHashes: new Uint8Array(),
 *   contentHash: new Uint8Array(32), symlinkTarget: "", modifiedBy: "A", inode: 0 } as const;
 * assert.equal(decide(undefined, file, "B").action, "fetch");
 * assert.equal(decide(file, file, "B").action, "keep");
 * ```
 */
export function decide(local: FileInfo | undefined, remote: FileInfo, self: string, peerWins = false): Decision {
  if (local === undefined) {
    // A tombstone for a path we never had needs nothing on disk; record it so a later,
    // older copy from a third device cannot bring the path back.
    return remote.deleted ? { action: "record", file: remote } : fetch(remote, false);
  }
  switch (compareVersions(remote.version, local.version)) {
    case "equal":
    case "lesser":
      return KEEP;
    case "greater":
      return follow(local, remote);
    case "concurrent":
      return resolveConflict(local, remote, self, peerWins);
  }
}

/** The peer's version supersedes ours: take it with the least work. */
function follow(local: FileInfo, remote: FileInfo): Decision {
  if (remote.deleted) {
    return local.deleted ? { action: "record", file: remote } : { action: "delete", file: remote };
  }
  if (sameOnDisk(local, remote)) return { action: "record", file: remote };
  if (sameContent(local, remote)) return { action: "update-metadata", file: remote };
  return fetch(remote, false);
}

/** Neither version has seen the other. */
function resolveConflict(local: FileInfo, remote: FileInfo, self: string, peerWins: boolean): Decision {
  const merged = merge(local.version, remote.version);
  // Receive-only: the peer's edit wins, but its delete never takes a local edit away.
  const winner = peerWins && !remote.deleted ? remote : pickWinner(local, remote);
  if (sameOnDisk(local, remote)) {
    // Identical copies made independently: both sides record the merged vector, and as the
    // entries are identical, so are the results (else a later edit would look like a conflict).
    return { action: "record", file: { ...winner, version: merged } };
  }
  if (winner === local) return KEEP; // the peer moves to ours (and keeps its loser as a conflict copy)
  // The loser moves to the winner under a new version of its own: the merge plus its counter.
  // A bare merge is not unique: two devices resolving different pairs can reach the same
  // vector over different content, and equal vectors never reconcile.
  const file = { ...remote, version: increment(merged, self) };
  if (sameContent(local, remote)) return { action: "update-metadata", file };
  if (remote.deleted) return { action: "delete", file };
  return fetch(file, !local.deleted);
}

function fetch(file: FileInfo, keepLocalAsConflict: boolean): Decision {
  return { action: "fetch", file, keepLocalAsConflict };
}
