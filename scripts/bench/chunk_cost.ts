/**
 * What content-defined blocks cost to find: CPU and wall time of hashing one 1 GiB file (in
 * the page cache) with fsync's hashFile (gear-hash boundaries and SHA-256 in one pass)
 * against the fixed 512 KiB blocks it replaced (the same reads and SHA-256, no boundary
 * search). Alternates the two, `rounds` times each, and gives medians; and the longest the
 * main thread went without serving its event loop meanwhile (a 1 ms timer's worst lateness):
 * hashing runs there, in slices between reads.
 */
import process from "node:process";
import { join } from "node:path";
import { denoFs, readFull, writeAll } from "../../lib/fs/mod.ts";
import { sha256 } from "../../lib/model/mod.ts";
import { hashFile } from "../../lib/scan/mod.ts";
import { fillPseudoRandom } from "../../tests/support/gen_tree.ts";

/** Median CPU and wall seconds of each way of hashing. */
export interface ChunkCostFigures {
  readonly fileBytes: number;
  readonly fixed: { readonly cpuSeconds: number; readonly seconds: number };
  readonly contentDefined: { readonly cpuSeconds: number; readonly seconds: number };
  /** Worst lateness of a 1 ms timer while content-defined blocks were hashed. */
  readonly longestStallMs: number;
}

const FILE_BYTES = 2 ** 30;
const FIXED_BLOCK = 512 * 1024;

/** Fixed-size blocks: read each and hash it, as fsync did before content-defined blocks. */
async function hashFixed(path: string): Promise<void> {
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(FIXED_BLOCK);
  for (let got; (got = await readFull(file, buffer)) > 0;) sha256(buffer.subarray(0, got));
}

async function measure(hash: () => Promise<unknown>): Promise<{ cpuSeconds: number; seconds: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await hash();
  const used = process.cpuUsage(cpu);
  return { cpuSeconds: (used.user + used.system) / 1e6, seconds: (performance.now() - started) / 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Hashes a 1 GiB file both ways, alternating, `rounds` times each. */
export async function measureChunkCost(rounds = 3): Promise<ChunkCostFigures> {
  const dir = await Deno.makeTempDir({ prefix: "fsync-bench-chunks-" });
  try {
    const path = join(dir, "big.bin");
    {
      using file = await Deno.open(path, { write: true, create: true });
      const piece = new Uint8Array(64 * 2 ** 20);
      for (let at = 0; at < FILE_BYTES; at += piece.length) {
        fillPseudoRandom(piece, at / piece.length + 1);
        await writeAll(file, piece);
      }
    }
    await hashFixed(path); // into the page cache
    const fixed = [];
    const cdc = [];
    let longestStallMs = 0;
    for (let i = 0; i < rounds; i++) {
      fixed.push(await measure(() => hashFixed(path)));
      let last = performance.now();
      const ticker = setInterval(() => {
        const now = performance.now();
        longestStallMs = Math.max(longestStallMs, now - last - 1);
        last = now;
      }, 1);
      try {
        cdc.push(await measure(() => hashFile(denoFs, path, FILE_BYTES)));
      } finally {
        clearInterval(ticker);
      }
    }
    const medians = (runs: { cpuSeconds: number; seconds: number }[]) => ({
      cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
      seconds: median(runs.map((r) => r.seconds)),
    });
    return { fileBytes: FILE_BYTES, fixed: medians(fixed), contentDefined: medians(cdc), longestStallMs };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
