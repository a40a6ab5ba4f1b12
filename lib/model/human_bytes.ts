/**
 * A byte count for people: binary units, one decimal.
 *
 * @example
 * ```ts
 * import { humanBytes } from "./human_bytes.ts";
 * import assert from "node:assert/strict";
 * assert.equal(humanBytes(512), "512 B");
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
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
