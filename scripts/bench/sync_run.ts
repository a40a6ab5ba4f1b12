/** One timed initial sync by any tool (fsync or an anchor), and the medians of several. */
import type { Usage } from "../../tests/support/usage.ts";

/** Wall time of one initial sync, and the peak RSS and CPU seconds of each side during it. */
export interface SyncRun {
  readonly seconds: number;
  readonly sender: Usage;
  readonly receiver: Usage;
}

/** Medians over runs of a tool: wall time, CPU seconds (both sides, and each), and each side's peak RSS. */
export interface SyncMedians {
  readonly runs: number;
  readonly seconds: number;
  /** Sender's plus receiver's CPU seconds. */
  readonly cpuSeconds: number;
  readonly senderCpuSeconds: number;
  readonly receiverCpuSeconds: number;
  readonly senderPeakRssBytes: number;
  readonly receiverPeakRssBytes: number;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Each figure's median over `runs`, taken separately. */
export function medians(runs: readonly SyncRun[]): SyncMedians {
  return {
    runs: runs.length,
    seconds: median(runs.map((r) => r.seconds)),
    cpuSeconds: median(runs.map((r) => r.sender.cpuSeconds + r.receiver.cpuSeconds)),
    senderCpuSeconds: median(runs.map((r) => r.sender.cpuSeconds)),
    receiverCpuSeconds: median(runs.map((r) => r.receiver.cpuSeconds)),
    senderPeakRssBytes: median(runs.map((r) => r.sender.peakRssBytes)),
    receiverPeakRssBytes: median(runs.map((r) => r.receiver.peakRssBytes)),
  };
}
