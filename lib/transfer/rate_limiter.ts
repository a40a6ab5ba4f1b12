/**
 * A token bucket limiting bytes per second: `take(n)` resolves when `n` more bytes may go.
 * The bucket holds up to one second of tokens, so a burst after a pause is at most that;
 * a request larger than the bucket goes into debt and the next ones wait it off. Requests
 * are served in order.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limiter.ts";
 * import assert from "node:assert/strict";
 * let now = 0;
 * const slept: number[] = [];
 * const limiter = new RateLimiter(1000, () => now, async (ms) => { slept.push(ms); now += ms; });
 * await limiter.take(1000); // the full bucket
 * await limiter.take(500); // half a second more
 * assert.deepEqual(slept, [500]);
 * ```
 */
export class RateLimiter {
  readonly bytesPerSecond: number;
  #tokens: number;
  #last: number;
  #now: () => number;
  #sleep: (ms: number) => Promise<void>;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    bytesPerSecond: number,
    now: () => number = () => performance.now(),
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.bytesPerSecond = bytesPerSecond;
    this.#tokens = bytesPerSecond;
    this.#now = now;
    this.#last = now();
    this.#sleep = sleep;
  }

  /** Resolves once `bytes` may be sent or received. */
  take(bytes: number): Promise<void> {
    const turn = this.#queue.then(async () => {
      const now = this.#now();
      this.#tokens = Math.min(this.bytesPerSecond, this.#tokens + ((now - this.#last) / 1000) * this.bytesPerSecond);
      this.#last = now;
      this.#tokens -= bytes;
      if (this.#tokens < 0) await this.#sleep((-this.#tokens / this.bytesPerSecond) * 1000);
    });
    this.#queue = turn;
    return turn;
  }
}
