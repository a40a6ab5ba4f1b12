/**
 * Counts the connections a listener closed for a limit (eviction, deadline, too much input
 * before authentication) and turns them into at most one warning line per interval, naming
 * the count and the sources that caused most of them: a flood must not flood the log.
 */
export class FloodLog {
  readonly #intervalMs: number;
  #bySource = new Map<string, number>();
  #reasons = new Map<string, number>();
  #lastLineMs = -Infinity;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Notes one connection from `source` closed for `reason`. */
  note(source: string, reason: string): void {
    this.#bySource.set(source, (this.#bySource.get(source) ?? 0) + 1);
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
  }

  /** The warning line for what was noted since the last one, when one is due at `nowMs`. */
  take(nowMs: number): string | undefined {
    if (this.#bySource.size === 0 || nowMs - this.#lastLineMs < this.#intervalMs) return undefined;
    const total = [...this.#bySource.values()].reduce((a, b) => a + b, 0);
    const sources = [...this.#bySource].sort((a, b) => b[1] - a[1]);
    const top = sources.slice(0, 3).map(([source, n]) => `${source} (${n})`).join(", ");
    const more = sources.length > 3 ? ` and ${sources.length - 3} other sources` : "";
    const reasons = [...this.#reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${n} ${r}`).join(", ");
    const since = Number.isFinite(this.#lastLineMs)
      ? ` in the last ${Math.round((nowMs - this.#lastLineMs) / 1000)} s`
      : "";
    this.#bySource = new Map();
    this.#reasons = new Map();
    this.#lastLineMs = nowMs;
    return `closed ${total} unauthenticated connection${total === 1 ? "" : "s"}${since} from ${top}${more}: ${reasons}`;
  }
}
