import { baseName, parentPath } from "./paths.ts";

/**
 * The name a losing version is kept under:
 * `name.sync-conflict-YYYYMMDD-HHMMSS-<short device id>.ext` (UTC), beside the original.
 *
 * @example
 * ```ts
 * import { conflictName } from "./conflict_name.ts";
 * import assert from "node:assert/strict";
 * const at = new Date(Date.UTC(2026, 10, 24, 9, 5, 7));
 * assert.equal(conflictName("docs/report.txt", at, "ABCDEFG"),
 *   "docs/report.sync-conflict-20261124-090507-ABCDEFG.txt");
 * ```
 */
export function conflictName(path: string, at: Date, shortId: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${p(at.getUTCFullYear(), 4)}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}-` +
    `${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  const parent = parentPath(path);
  return `${parent ? parent + "/" : ""}${stem}.sync-conflict-${stamp}-${shortId}${ext}`;
}

/** What a conflict copy's name tells: the path it was a version of, when it was made, and whose version it was. */
export interface ConflictCopyName {
  readonly original: string;
  readonly at: Date;
  readonly shortId: string;
}

/**
 * Reads a name made by {@linkcode conflictName}; undefined for any other path.
 *
 * @example
 * ```ts
 * import { parseConflictName } from "./conflict_name.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseConflictName("docs/report.sync-conflict-20261124-090507-ABCDEFG.txt"), {
 *   original: "docs/report.txt", at: new Date(Date.UTC(2026, 10, 24, 9, 5, 7)), shortId: "ABCDEFG" });
 * assert.equal(parseConflictName("docs/report.txt"), undefined);
 * ```
 */
export function parseConflictName(path: string): ConflictCopyName | undefined {
  const m = path.match(/^(.*)\.sync-conflict-(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)-([A-Z2-7]{7})((?:\.[^./]*)?)$/);
  if (!m) return undefined;
  const [, stem, y, mo, d, h, mi, s, shortId, ext] = m;
  return { original: stem + ext, at: new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s)), shortId };
}
