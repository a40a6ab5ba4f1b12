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
