/**
 * A byte count (or rate) for people: whole bytes, else binary units with one decimal.
 *
 * @example
 * ```ts
 * import { humanBytes } from "./human_bytes.ts";
 * import assert from "node:assert/strict";
 * assert.equal(humanBytes(512), "512 B");
 * assert.equal(humanBytes(29.87874782840887), "30 B");
 * assert.equal(humanBytes(6 * 1024 * 1024), "6.0 MiB");
 * ```
 */
export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}
