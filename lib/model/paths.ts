import { PathEscapeError } from "./errors.ts";

/** Longest relative path accepted, in UTF-8 bytes (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;
/** Longest single name accepted, in UTF-8 bytes (Linux NAME_MAX). */
export const MAX_NAME_BYTES = 255;
/** Prefix of the puller's temporary files; such names are never synced. */
export const TEMP_PREFIX = ".fsync-tmp-";

/**
 * Whether `name` is one of the puller's temporary files (the prefix and 24 hex digits): only
 * those are fsync's to remove; another name with the prefix is the user's, and is not synced.
 */
export function isTempName(name: string): boolean {
  return name.length === TEMP_PREFIX.length + 24 && name.startsWith(TEMP_PREFIX) &&
    /^[0-9a-f]{24}$/.test(name.slice(TEMP_PREFIX.length));
}

/**
 * The length of `text` in UTF-8 bytes, as TextEncoder would encode it (a lone surrogate as
 * U+FFFD, 3 bytes), without encoding it.
 *
 * @example
 * ```ts
 * import { utf8Length } from "./paths.ts";
 * import assert from "node:assert/strict";
 * assert.equal(utf8Length("aé€😀"), 1 + 2 + 3 + 4);
 * ```
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if ((unit & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) bytes += 2, i++; // a pair: 4 bytes for 2 units
    else bytes += 2;
  }
  return bytes;
}

/**
 * Checks that `path` is a safe relative path for a folder and returns it.
 * Rejects: empty, absolute, a drive prefix, backslashes, NUL, `.` or `..` or empty
 * components, names that are not Unicode NFC, over-long names and paths, and fsync's
 * own temporary names.
 *
 * @throws {PathEscapeError} naming what is wrong with the path.
 * @example
 * ```ts
 * import { validateRelativePath } from "./paths.ts";
 * import assert from "node:assert/strict";
 * assert.equal(validateRelativePath("docs/a b.txt"), "docs/a b.txt");
 * assert.throws(() => validateRelativePath("../etc/passwd"));
 * ```
 */
export function validateRelativePath(path: string): string {
  const fail = (why: string): never => {
    throw new PathEscapeError(`unsafe path ${JSON.stringify(path.slice(0, 200))}: ${why}`);
  };
  if (path.length === 0) fail("empty");
  if (path.includes("\0")) fail("contains NUL");
  if (path.includes("\\")) fail("contains a backslash");
  if (path.startsWith("/")) fail("absolute");
  if (/^[A-Za-z]:/.test(path)) fail("has a drive prefix");
  const bytes = utf8Length(path);
  if (bytes > MAX_PATH_BYTES) fail(`longer than ${MAX_PATH_BYTES} bytes`);
  // One byte per code unit: only ASCII, which is always NFC.
  if (bytes !== path.length && path.normalize("NFC") !== path) fail("not Unicode NFC");
  for (const name of path.split("/")) {
    if (name === "" || name === "." || name === "..") fail(`has a "${name}" component`);
    if (utf8Length(name) > MAX_NAME_BYTES) fail(`a name is longer than ${MAX_NAME_BYTES} bytes`);
    if (name.startsWith(TEMP_PREFIX)) fail("is an fsync temporary name");
  }
  return path;
}

/** The parent of a relative path, or "" at the folder root. */
export function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** The last name of a relative path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Number of components of a relative path ("a/b" is 2). */
export function pathDepth(path: string): number {
  let depth = 1;
  for (const ch of path) if (ch === "/") depth++;
  return depth;
}

/**
 * Text from a folder (a path, or a message that holds one) as printed in a log line or
 * `status`: control characters (C0, DEL, C1), bidirectional overrides, backslashes and U+FFFD
 * (what Deno shows for each byte of a name that is not UTF-8) escaped, so a name can neither
 * forge a line nor hide what it is.
 *
 * @example
 * ```ts
 * import { printable } from "./paths.ts";
 * import assert from "node:assert/strict";
 * assert.equal(printable("a\nb\uFFFD\u202E.txt"), "a\\nb\\ufffd\\u202e.txt");
 * ```
 */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex -- control characters are what is escaped
  return text.replace(/[\x00-\x1f\x7f-\x9f\\\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd]/g, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\" };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}
