import { baseName, MAX_NAME_BYTES, parentPath, utf8Length } from "./paths.ts";

/**
 * An extension longer than this (UTF-8 bytes) counts as part of the stem when a conflict name
 * must be shortened: real extensions are short, and keeping a long one would leave no stem.
 */
const MAX_KEPT_EXT_BYTES = 64;

/**
 * The name a losing version is kept under:
 * `name.sync-conflict-YYYYMMDD-HHMMSS-<short device id>.ext` (UTC), beside the original.
 * When that name would exceed 255 UTF-8 bytes (NAME_MAX), the stem is cut at a character
 * boundary (a whole grapheme where one fits) so that it fits; the suffix and the extension
 * stay, unless the extension is longer than 64 bytes, in which case it is cut as part of the
 * stem. The result is always readable by {@linkcode parseConflictName}.
 *
 * @example
 * ```ts
 * import { conflictName } from "./conflict_name.ts";
 * import assert from "node:assert/strict";
 * const at = new Date(Date.UTC(2026, 10, 24, 9, 5, 7));
 * assert.equal(conflictName("docs/report.txt", at, "ABCDEFG"),
 *   "docs/report.sync-conflict-20261124-090507-ABCDEFG.txt");
 * assert.equal(conflictName("a".repeat(251) + ".txt", at, "ABCDEFG"),
 *   "a".repeat(213) + ".sync-conflict-20261124-090507-ABCDEFG.txt");
 * ```
 */
export function conflictName(path: string, at: Date, shortId: string): string {
  const name = baseName(path);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${p(at.getUTCFullYear(), 4)}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}-` +
    `${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  const suffix = `.sync-conflict-${stamp}-${shortId}`;
  const dot = name.lastIndexOf(".");
  let [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  if (utf8Length(name) + utf8Length(suffix) > MAX_NAME_BYTES) {
    if (utf8Length(ext) > MAX_KEPT_EXT_BYTES) [stem, ext] = [name, ""];
    stem = cutToBytes(stem, MAX_NAME_BYTES - utf8Length(suffix) - utf8Length(ext));
  }
  const parent = parentPath(path);
  return `${parent ? parent + "/" : ""}${stem}${suffix}${ext}`;
}

/**
 * The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that ends on a grapheme
 * boundary; on a code point boundary when not even the first grapheme fits (a grapheme can
 * be any number of combining marks long).
 */
function cutToBytes(text: string, maxBytes: number): string {
  let end = 0;
  let bytes = 0;
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)) {
    bytes += utf8Length(segment);
    if (bytes > maxBytes) break;
    end += segment.length;
  }
  if (end > 0) return text.slice(0, end);
  bytes = 0;
  for (const ch of text) { // by code point: a surrogate pair is never split
    bytes += utf8Length(ch);
    if (bytes > maxBytes) break;
    end += ch.length;
  }
  return text.slice(0, end);
}

/** What a conflict copy's name tells: the path it was a version of, when it was made, and whose version it was. */
export interface ConflictCopyName {
  readonly original: string;
  readonly at: Date;
  readonly shortId: string;
}

/**
 * Reads a name made by {@linkcode conflictName}; undefined for any other path. For a name
 * that was shortened to fit, `original` is the shortened stem with the extension.
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
  const m = path.match(/^(.*)\.sync-conflict-(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)-([A-Z2-7]{7})((?:\.[^./]*)?)$/s);
  if (!m) return undefined;
  const [, stem, y, mo, d, h, mi, s, shortId, ext] = m;
  return { original: stem + ext, at: new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s)), shortId };
}
