/**
 * Change latency: from writing a 4 KiB file on one peer until the other peer has it with
 * the right content, over real processes on 127.0.0.1. Prints median and 95th percentile.
 */
import { join } from "node:path";
import { startLivePair } from "../../tests/support/peer.ts";

/** Figures of one run, in milliseconds. */
export interface LatencyFigures {
  readonly changes: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

/** Writes `changes` files of 4 KiB on the sharer, one at a time, and times each until the joiner has it. */
export async function measureChangeLatency(changes = 50): Promise<LatencyFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-latency-" });
  try {
    await using pair = await startLivePair(tmp);
    const { a, b } = pair;
    const times: number[] = [];
    for (let i = 0; i < changes; i++) {
      const content = crypto.getRandomValues(new Uint8Array(4096));
      const started = performance.now();
      await Deno.writeFile(join(a, `change-${i}.bin`), content);
      await until(join(b, `change-${i}.bin`), content, 10_000);
      times.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 100)); // let each change settle on its own
    }
    times.sort((x, y) => x - y);
    const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
    return { changes, medianMs: at(0.5), p95Ms: at(0.95), maxMs: times[times.length - 1] };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Polls `path` every 2 ms until it holds `content`. */
async function until(path: string, content: Uint8Array, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const got = await Deno.readFile(path);
      if (got.length === content.length && got.every((v, i) => v === content[i])) return;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`${path} did not arrive within ${timeoutMs} ms`);
}
