/**
 * SHA-256 speed of the two implementations Deno offers, on this machine: Web Crypto's
 * `crypto.subtle.digest` (one call per block, awaited) and node:crypto's `createHash`
 * (what fsync uses, through `sha256()` in lib/model), over 128 KiB and 1 MiB blocks.
 */
import { createHash } from "node:crypto";

/** MiB/s of each implementation and block size. */
export interface HashSpeeds {
  readonly webCrypto: Record<string, number>;
  readonly nodeCrypto: Record<string, number>;
}

const TOTAL_BYTES = 512 * 2 ** 20;

/** Hashes TOTAL_BYTES in blocks of each size with each implementation and returns MiB/s. */
export async function measureHashSpeeds(): Promise<HashSpeeds> {
  const speeds: HashSpeeds = { webCrypto: {}, nodeCrypto: {} };
  for (const blockSize of [128 * 1024, 1024 * 1024]) {
    const block = new Uint8Array(blockSize).map((_, i) => (i * 2654435761) >>> 24);
    const label = `${blockSize / 1024} KiB`;
    const count = TOTAL_BYTES / blockSize;
    let started = performance.now();
    for (let i = 0; i < count; i++) await crypto.subtle.digest("SHA-256", block);
    speeds.webCrypto[label] = TOTAL_BYTES / 2 ** 20 / ((performance.now() - started) / 1000);
    started = performance.now();
    for (let i = 0; i < count; i++) createHash("sha256").update(block).digest();
    speeds.nodeCrypto[label] = TOTAL_BYTES / 2 ** 20 / ((performance.now() - started) / 1000);
  }
  return speeds;
}
