/**
 * When a scan's deletions are big enough to wait for the user: more than `percent` percent
 * of the folder's files AND more than `files` files (both strictly), as Unison's
 * `confirmbigdeletes` does.
 */
export interface DeletionThresholds {
  /** Percent (0-100) of the files the folder holds: before the scan, and what it found new. */
  readonly percent: number;
  /** Number of files. */
  readonly files: number;
}

/** The thresholds of a folder whose configuration sets none. */
export const DEFAULT_DELETION_THRESHOLDS: DeletionThresholds = { percent: 50, files: 100 };

/**
 * Whether deleting `deleted` of the `before` files a folder held is a big deletion, to be
 * held until confirmed.
 *
 * @example
 * ```ts
 * import { isBigDeletion } from "./deletion_guard.ts";
 * import assert from "node:assert/strict";
 * const t = { percent: 50, files: 100 };
 * assert.equal(isBigDeletion(101, 200, t), true);
 * assert.equal(isBigDeletion(100, 100, t), false); // not more than 100 files
 * assert.equal(isBigDeletion(150, 1000, t), false); // 15 %
 * ```
 */
export function isBigDeletion(deleted: number, before: number, thresholds: DeletionThresholds): boolean {
  return deleted > thresholds.files && deleted * 100 > thresholds.percent * before;
}

/** What is known of a folder's root before a scan or a pull. */
export interface RootObservation {
  /** The root exists and is a directory. */
  readonly exists: boolean;
  /** The marker file is in it. */
  readonly hasMarker: boolean;
  /** This device made the marker once (recorded in the store). */
  readonly wasMarked: boolean;
  /** The root holds no entry at all. */
  readonly isEmpty: boolean;
  /** The local index holds no live entry. */
  readonly indexEmpty: boolean;
}

/**
 * What to do about a folder's root:
 * - `use`: the marker is there;
 * - `mark`: make the marker, then use the folder: a folder this device never marked (a new
 *   folder, or one from before markers) whose root holds something or whose index is empty;
 * - `stop`: neither scan nor pull (a missing root, a lost marker, or a never-marked root that
 *   is empty while the index holds files: what an unmounted disk leaves behind).
 *
 * @example
 * ```ts
 * import { rootVerdict } from "./deletion_guard.ts";
 * import assert from "node:assert/strict";
 * const mounted = { exists: true, hasMarker: true, wasMarked: true, isEmpty: false, indexEmpty: false };
 * assert.equal(rootVerdict(mounted), "use");
 * assert.equal(rootVerdict({ ...mounted, hasMarker: false, isEmpty: true }), "stop");
 * ```
 */
export function rootVerdict(root: RootObservation): "use" | "mark" | "stop" {
  if (!root.exists) return "stop";
  if (root.hasMarker) return "use";
  if (root.wasMarked) return "stop";
  return !root.isEmpty || root.indexEmpty ? "mark" : "stop";
}
