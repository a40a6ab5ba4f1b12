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

const encoder = new TextEncoder();

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
  if (encoder.encode(path).length > MAX_PATH_BYTES) fail(`longer than ${MAX_PATH_BYTES} bytes`);
  if (path.normalize("NFC") !== path) fail("not Unicode NFC");
  for (const name of path.split("/")) {
    if (name === "" || name === "." || name === "..") fail(`has a "${name}" component`);
    if (encoder.encode(name).length > MAX_NAME_BYTES) fail(`a name is longer than ${MAX_NAME_BYTES} bytes`);
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
