/**
 * `deno task bench [NAME...]`: runs fsync's benchmarks over real processes on 127.0.0.1 and
 * prints their figures. Benchmarks measure; tests assert behaviour. With no NAME, runs all.
 */
// deno-lint-ignore-file no-console -- a benchmark prints its figures
import { measureChangeLatency } from "./bench/change_latency.ts";

const BENCHMARKS: Record<string, () => Promise<string>> = {
  "change-latency": async () => {
    const f = await measureChangeLatency(50);
    return `${f.changes} changes of 4 KiB, sharer to joiner: median ${f.medianMs.toFixed(1)} ms, ` +
      `p95 ${f.p95Ms.toFixed(1)} ms, max ${f.maxMs.toFixed(1)} ms`;
  },
};

const names = Deno.args.length > 0 ? Deno.args : Object.keys(BENCHMARKS);
for (const name of names) {
  const run = BENCHMARKS[name];
  if (!run) {
    console.error(`fsync bench: unknown benchmark ${name} (known: ${Object.keys(BENCHMARKS).join(", ")})`);
    Deno.exit(2);
  }
  console.log(`${name}: ${await run()}`);
}
