/** A path of a folder that cannot be synced now, and why. */
export interface PathProblem {
  readonly path: string;
  readonly message: string;
}

/** Who found a problem: scans and pulls each clear only what they looked at again. */
export type ProblemOrigin = "scan" | "pull";

/**
 * The paths of one folder that cannot be synced, each with its latest reason: what `status`
 * lists, and what keeps a warning from being said again while nothing changed (a retried pull
 * meets the same case twin every few seconds).
 */
export class PathProblems {
  #byPath = new Map<string, { message: string; origin: ProblemOrigin }>();

  /** Records `path`'s problem; true when it is new or its reason changed (worth a log line). */
  set(path: string, message: string, origin: ProblemOrigin): boolean {
    const known = this.#byPath.get(path);
    this.#byPath.set(path, { message, origin });
    return known?.message !== message;
  }

  /** Forgets `path`'s problem if `origin` found it: it was looked at again and is fine. */
  clear(path: string, origin: ProblemOrigin): void {
    if (this.#byPath.get(path)?.origin === origin) this.#byPath.delete(path);
  }

  /**
   * Forgets what `origin` found at or below `under` (every path when undefined) except the
   * paths in `still`: one pass looked at all of them and found only those again.
   */
  settle(origin: ProblemOrigin, under: readonly string[] | undefined, still: ReadonlySet<string>): void {
    const looked = under && new Set(under);
    for (const [path, problem] of this.#byPath) {
      if (problem.origin !== origin || still.has(path)) continue;
      if (looked && !selfOrAncestors(path).some((p) => looked.has(p))) continue;
      this.#byPath.delete(path);
    }
  }

  get size(): number {
    return this.#byPath.size;
  }

  /** The first `limit` problems in path order. */
  list(limit = Infinity): PathProblem[] {
    return [...this.#byPath].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).slice(0, limit)
      .map(([path, { message }]) => ({ path, message }));
  }
}

/** "a/b/c" and the paths above it: "a/b/c", "a/b", "a". */
function selfOrAncestors(path: string): string[] {
  const out = [path];
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) out.push(path.slice(0, i));
  return out;
}
