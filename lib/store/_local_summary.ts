import { type FileInfo, parseConflictName } from "../model/mod.ts";

/** Number and total size of the live files of a folder's local index, and its live conflict copies. */
export interface LocalSummary {
  readonly files: number;
  readonly bytes: number;
  readonly conflicts: number;
}

/** Adds (`sign` 1) or removes (-1) an entry's share of a local summary. */
export function addTo(
  summary: { -readonly [K in keyof LocalSummary]: LocalSummary[K] },
  entry: Omit<FileInfo, "blockHashes" | "blockSizes">,
  sign: 1 | -1,
): void {
  if (entry.deleted) return;
  if (parseConflictName(entry.path)) summary.conflicts += sign;
  if (entry.type !== "file") return;
  summary.files += sign;
  summary.bytes += sign * entry.size;
}
