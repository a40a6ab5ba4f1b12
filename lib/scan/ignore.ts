import { join } from "node:path";
import ignore, { type Ignore } from "ignore";

/** The file at a folder's root holding its ignore patterns (gitignore syntax); never synced itself. */
export const IGNORE_FILE = ".fsyncignore";
/**
 * The file at a folder's root that says the folder is there (a root without it may be an
 * unmounted disk's mount point); never synced, never content.
 */
export const FOLDER_MARKER = ".fsyncfolder";

/** Common OS junk, ignored unless the configuration turns the defaults off. */
export const DEFAULT_IGNORES: readonly string[] = [
  ".DS_Store",
  "._*",
  ".Spotlight-V100/",
  ".Trashes/",
  ".fseventsd/",
  ".TemporaryItems/",
  "Thumbs.db",
  "ehthumbs.db",
  "desktop.ini",
  "$RECYCLE.BIN/",
  "~$*",
  ".~lock.*#",
];

/**
 * Lookups between two fresh matchers. The `ignore` package caches the answer for every path
 * (and its parents) it is asked about; unbounded, it would hold about 50 MiB over 100,000 files.
 */
const CACHE_LIMIT = 4096;

/**
 * The default patterns as a test of each name in a path, for folders without their own
 * patterns. Each is a plain name (a glob of `*` and `?`, a trailing `/` for directories only),
 * which in gitignore matches at any depth, so a path is ignored when its own name or a directory
 * above it matches; like the ignore package, case is ignored. The package took 5.5 µs a path to
 * say so (58 ms of a 10,563-file scan), rebuilding its answers for parents it had forgotten.
 */
class NamePatterns {
  #any: RegExp;
  #directories: RegExp;

  constructor(patterns: readonly string[]) {
    const any: string[] = [];
    const directories: string[] = [];
    for (const pattern of patterns) {
      const directoryOnly = pattern.endsWith("/");
      const name = directoryOnly ? pattern.slice(0, -1) : pattern;
      if (name === "" || /^[!#]|[/\\[\]]/.test(name)) {
        throw new Error(`not a plain name pattern: ${pattern}`);
      }
      const source = [...name].map((c) => c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|]/g, "\\$&"));
      (directoryOnly ? directories : any).push(source.join(""));
    }
    const union = (sources: string[]) => new RegExp(sources.length ? `^(?:${sources.join("|")})$` : "(?!)", "i");
    this.#any = union(any);
    this.#directories = union(directories);
  }

  ignores(path: string, isDirectory: boolean): boolean {
    for (let start = 0;;) {
      const slash = path.indexOf("/", start);
      const name = slash < 0 ? path.slice(start) : path.slice(start, slash);
      if (this.#any.test(name) || ((slash >= 0 || isDirectory) && this.#directories.test(name))) return true;
      if (slash < 0) return false;
      start = slash + 1;
    }
  }
}

const DEFAULT_NAMES = new NamePatterns(DEFAULT_IGNORES);

/** Why a path is ignored or not: the deciding pattern and where it was written. */
export interface IgnoreVerdict {
  readonly ignored: boolean;
  /** The last pattern that matched (a `!` pattern when it re-included the path), if any. */
  readonly pattern?: string;
  /** `.fsyncignore` line number, or 0 for a default pattern. */
  readonly line?: number;
}

/**
 * A folder's ignore rules: the defaults (optionally) and then its `.fsyncignore`, with
 * gitignore semantics (later lines win, `!` re-includes, `**`, a trailing `/` for
 * directories; a path under an ignored directory is ignored). Matching is done by the
 * `ignore` package, which implements the gitignore specification.
 *
 * @example
 * ```ts
 * import { IgnoreRules } from "./ignore.ts";
 * import assert from "node:assert/strict";
 * const rules = new IgnoreRules("*.log\n!keep.log\nbuild/\n", true);
 * assert.equal(rules.ignores("a/x.log", false), true);
 * assert.equal(rules.ignores("keep.log", false), false);
 * assert.equal(rules.ignores("build", true), true);
 * assert.equal(rules.ignores("build", false), false);
 * assert.equal(rules.ignores(".DS_Store", false), true);
 * assert.deepEqual(rules.explain("x.log", false), { ignored: true, pattern: "*.log", line: 1 });
 * ```
 */
export class IgnoreRules {
  /** The `.fsyncignore` text these rules were made from ("" when there is none). */
  readonly text: string;
  readonly defaults: boolean;
  #matcher: Ignore;
  #patterns: { pattern: string; mark: string }[];
  /** Lookups since the matcher was made: the package caches every path it is asked about, forever. */
  #lookups = 0;
  #lines: Map<string, { pattern: string; line: number }>;

  constructor(text: string, defaults: boolean) {
    this.text = text;
    this.defaults = defaults;
    this.#lines = new Map();
    const patterns: { pattern: string; mark: string }[] = [];
    const add = (pattern: string, line: number) => {
      const mark = String(patterns.length);
      patterns.push({ pattern, mark });
      this.#lines.set(mark, { pattern, line });
    };
    if (defaults) { for (const p of DEFAULT_IGNORES) add(p, 0); }
    text.split(/\r?\n/).forEach((raw, i) => {
      const pattern = raw.trimEnd();
      if (pattern !== "" && !pattern.startsWith("#")) add(pattern, i + 1);
    });
    this.#patterns = patterns;
    this.#matcher = ignore().add(patterns);
  }

  /** The matcher, made anew every CACHE_LIMIT lookups so that its cache stays bounded. */
  #fresh(): Ignore {
    if (++this.#lookups > CACHE_LIMIT) {
      this.#matcher = ignore().add(this.#patterns);
      this.#lookups = 0;
    }
    return this.#matcher;
  }

  /** Whether the relative `path` (a directory when `isDirectory`) is ignored; the ignore file and the marker always are. */
  ignores(path: string, isDirectory: boolean): boolean {
    if (path === IGNORE_FILE || path === FOLDER_MARKER) return true;
    if (this.#patterns.length === 0) return false;
    if (this.defaults && this.#patterns.length === DEFAULT_IGNORES.length) {
      return DEFAULT_NAMES.ignores(path, isDirectory);
    }
    return this.#fresh().ignores(isDirectory ? `${path}/` : path);
  }

  /** Whether `path` is ignored, and by which pattern (or which `!` pattern re-included it). */
  explain(path: string, isDirectory: boolean): IgnoreVerdict {
    if (path === IGNORE_FILE || path === FOLDER_MARKER) return { ignored: true };
    const target = isDirectory ? `${path}/` : path;
    const result = this.#fresh().test(target);
    let rule = result.rule?.mark !== undefined ? this.#lines.get(result.rule.mark) : undefined;
    if (result.unignored) {
      // The package names no rule for a re-included path: the last `!` pattern matching it did.
      rule = [...this.#lines.values()].findLast((r) =>
        r.pattern.startsWith("!") && ignore().add(r.pattern.slice(1)).ignores(target)
      );
    }
    return { ignored: result.ignored, ...(rule && { pattern: rule.pattern, line: rule.line }) };
  }
}

/**
 * Reads the ignore rules of the folder at `root`.
 *
 * @throws {Deno.errors.PermissionDenied} and other read errors but NotFound.
 */
export function loadIgnoreRules(root: string, defaults: boolean): IgnoreRules {
  let text = "";
  try {
    text = Deno.readTextFileSync(join(root, IGNORE_FILE));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return new IgnoreRules(text, defaults);
}
