import type { FileInfo } from "../model/mod.ts";

/**
 * How long a deletion a watcher-hinted scan finds waits before it is committed. A move the
 * watcher reports in two batches (the old path gone, then the new one there) reaches peers
 * as one new path first: they build it from the old path's blocks, still on their disk,
 * instead of deleting them and fetching the same bytes again. Editors that delete and write
 * a file again within the grace send no deletion at all.
 */
export const DELETION_GRACE_MS = 1_000;

/** What a hinted scan commits now, and which paths it found gone since when (ms). */
export interface GraceOutcome {
  readonly commit: FileInfo[];
  readonly goneSince: Map<string, number>;
}

/**
 * Holds back the tombstones of a scan until their path has been seen gone for `graceMs`:
 * `entries` are what the scan would commit, in order; `covered` says whether the scan looked
 * at a path; `goneSince` holds the paths earlier scans held, with when each was first seen
 * gone. A tombstone of a path gone for `graceMs` or more is committed; a younger one is held
 * (first seen now if not before). A path the scan covered and found again, or found nothing
 * for (its tombstone is already committed), is no longer held; one it did not cover stays held.
 * Entries other than tombstones always commit, in their order.
 *
 * @example
 * ```ts
 * import { holdFreshDeletions } from "./deletion_grace.ts";
 * import assert from "node:assert/strict";
 * const gone = { path: "a.txt", deleted: true } as Parameters<typeof holdFreshDeletions>[0][0];
 * const first = holdFreshDeletions([gone], () => true, new Map(), 5_000, 1_000);
 * assert.deepEqual([first.commit.length, first.goneSince.get("a.txt")], [0, 5_000]);
 * const later = holdFreshDeletions([gone], () => true, first.goneSince, 6_000, 1_000);
 * assert.deepEqual([later.commit, later.goneSince.size], [[gone], 0]);
 * ```
 */
export function holdFreshDeletions(
  entries: readonly FileInfo[],
  covered: (path: string) => boolean,
  goneSince: ReadonlyMap<string, number>,
  nowMs: number,
  graceMs: number,
): GraceOutcome {
  const held = new Map<string, number>();
  for (const [path, since] of goneSince) if (!covered(path)) held.set(path, since);
  const commit: FileInfo[] = [];
  for (const entry of entries) {
    const since = goneSince.get(entry.path) ?? nowMs;
    if (entry.deleted && nowMs - since < graceMs) held.set(entry.path, since);
    else commit.push(entry);
  }
  return { commit, goneSince: held };
}
