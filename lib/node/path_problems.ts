/** A path of a folder that cannot be synced now, and why. */
export interface PathProblem {
  readonly path: string;
  readonly message: string;
}

/** Who found a problem: the folder's scans, or its pulls from one peer ("pull:<device ID>"). */
export type ProblemOrigin = "scan" | `pull:${string}`;

/**
 * The paths of one folder that cannot be synced, each with its reasons by origin: what
 * `status` lists, and what keeps a warning from being said again while nothing changed (a
 * retried pull meets the same case twin every few seconds). Each origin clears only what it
 * found: a scan never clears a pull's problem, nor a pull from one peer another's.
 */
export class PathProblems {
  /** origin → path → message */
  #byOrigin = new Map<ProblemOrigin, Map<string, string>>();

  /**
   * Records `path`'s problem; true when it is new or its reason changed (worth a log line).
   * Numbers in a reason (free space, sizes) may change without it being a new reason.
   */
  set(path: string, message: string, origin: ProblemOrigin): boolean {
    let problems = this.#byOrigin.get(origin);
    if (!problems) this.#byOrigin.set(origin, problems = new Map());
    const known = problems.get(path);
    problems.set(path, message);
    return known === undefined || withoutNumbers(known) !== withoutNumbers(message);
  }

  /** Forgets `path`'s problem found by `origin`: it was looked at again and is fine. */
  clear(path: string, origin: ProblemOrigin): void {
    this.#byOrigin.get(origin)?.delete(path);
  }

  /**
   * Forgets what `origin` found at or below `under` (every path when undefined) except the
   * paths in `still`: one pass looked at all of them and found only those again.
   */
  settle(origin: ProblemOrigin, under: readonly string[] | undefined, still: ReadonlySet<string>): void {
    const problems = this.#byOrigin.get(origin);
    if (!problems) return;
    const looked = under && new Set(under);
    for (const path of problems.keys()) {
      if (still.has(path)) continue;
      if (looked && !selfOrAncestors(path).some((p) => looked.has(p))) continue;
      problems.delete(path);
    }
  }

  /** How many paths have a problem. */
  get size(): number {
    return this.#merged().size;
  }

  /** The first `limit` problem paths in path order, each with its first origin's reason. */
  list(limit = Infinity): PathProblem[] {
    return [...this.#merged()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).slice(0, limit)
      .map(([path, message]) => ({ path, message }));
  }

  #merged(): Map<string, string> {
    const out = new Map<string, string>();
    for (const problems of this.#byOrigin.values()) {
      for (const [path, message] of problems) if (!out.has(path)) out.set(path, message);
    }
    return out;
  }
}

function withoutNumbers(message: string): string {
  return message.replace(/\d+(\.\d+)?/g, "#");
}

/** "a/b/c" and the paths above it: "a/b/c", "a/b", "a". */
function selfOrAncestors(path: string): string[] {
  const out = [path];
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) out.push(path.slice(0, i));
  return out;
}
