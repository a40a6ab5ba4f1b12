/**
 * A version vector: for each device (by short ID), how many changes it made to a path.
 * Absent entries count as zero. Values are never mutated; functions return new vectors.
 */
export type VersionVector = Readonly<Record<string, number>>;

/** How two version vectors relate. */
export type Ordering = "equal" | "greater" | "lesser" | "concurrent";

/**
 * Returns `v` with `device`'s counter advanced past every counter in `v`, so the result
 * dominates `v` and any vector `v` dominates.
 *
 * @example
 * ```ts
 * import { increment } from "./version_vector.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(increment({ A: 3 }, "B"), { A: 3, B: 1 });
 * ```
 */
export function increment(v: VersionVector, device: string): VersionVector {
  return { ...v, [device]: (v[device] ?? 0) + 1 };
}

/**
 * The least vector that dominates or equals both: the element-wise maximum.
 *
 * @example
 * ```ts
 * import { merge } from "./version_vector.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(merge({ A: 2, B: 1 }, { B: 3 }), { A: 2, B: 3 });
 * ```
 */
export function merge(a: VersionVector, b: VersionVector): VersionVector {
  const out: Record<string, number> = { ...a };
  for (const [device, value] of Object.entries(b)) {
    if (value > (out[device] ?? 0)) out[device] = value;
  }
  return out;
}

/**
 * Compares two vectors: `greater` when `a` dominates `b` (it has seen every change `b` has
 * and more), `concurrent` when each has a change the other has not seen.
 *
 * @example
 * ```ts
 * import { compareVersions } from "./version_vector.ts";
 * import assert from "node:assert/strict";
 * assert.equal(compareVersions({ A: 2 }, { A: 1 }), "greater");
 * assert.equal(compareVersions({ A: 1 }, { B: 1 }), "concurrent");
 * ```
 */
export function compareVersions(a: VersionVector, b: VersionVector): Ordering {
  let aAhead = false;
  let bAhead = false;
  for (const device of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[device] ?? 0;
    const y = b[device] ?? 0;
    if (x > y) aAhead = true;
    if (y > x) bAhead = true;
  }
  if (aAhead && bAhead) return "concurrent";
  if (aAhead) return "greater";
  if (bAhead) return "lesser";
  return "equal";
}
