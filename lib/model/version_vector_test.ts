import assert from "node:assert/strict";
import fc from "fast-check";
import { compareVersions, increment, merge, type VersionVector } from "./version_vector.ts";

const NUM_RUNS = 500;
const vector: fc.Arbitrary<VersionVector> = fc.dictionary(
  fc.constantFrom("AAAAAAA", "BBBBBBB", "CCCCCCC", "DDDDDDD"),
  fc.integer({ min: 1, max: 5 }),
  { noNullPrototype: true },
);

Deno.test("compareVersions() orders vectors", async (t) => {
  const cases: { description: string; a: VersionVector; b: VersionVector; want: string }[] = [
    { description: "both empty are equal", a: {}, b: {}, want: "equal" },
    { description: "a newer counter dominates", a: { A: 2 }, b: { A: 1 }, want: "greater" },
    { description: "an older counter is dominated", a: { A: 1 }, b: { A: 2 }, want: "lesser" },
    { description: "an extra device dominates", a: { A: 1, B: 1 }, b: { A: 1 }, want: "greater" },
    { description: "disjoint devices are concurrent", a: { A: 1 }, b: { B: 1 }, want: "concurrent" },
    { description: "crossed counters are concurrent", a: { A: 2, B: 1 }, b: { A: 1, B: 2 }, want: "concurrent" },
    { description: "anything dominates the empty vector", a: { A: 1 }, b: {}, want: "greater" },
  ];
  for (const c of cases) await t.step(c.description, () => assert.equal(compareVersions(c.a, c.b), c.want));
});

Deno.test("merge() is commutative, associative and idempotent, and dominates its inputs", () => {
  fc.assert(
    fc.property(vector, vector, vector, (a, b, c) => {
      assert.deepEqual(merge(a, b), merge(b, a));
      assert.deepEqual(merge(merge(a, b), c), merge(a, merge(b, c)));
      assert.deepEqual(merge(a, a), a);
      assert.ok(["greater", "equal"].includes(compareVersions(merge(a, b), a)));
      assert.ok(["greater", "equal"].includes(compareVersions(merge(a, b), b)));
    }),
    { numRuns: NUM_RUNS },
  );
});

Deno.test("compareVersions() is antisymmetric and increment() always dominates", () => {
  const flip: Record<string, string> = {
    equal: "equal",
    greater: "lesser",
    lesser: "greater",
    concurrent: "concurrent",
  };
  fc.assert(
    fc.property(vector, vector, fc.constantFrom("AAAAAAA", "EEEEEEE"), (a, b, device) => {
      assert.equal(compareVersions(b, a), flip[compareVersions(a, b)]);
      assert.equal(compareVersions(increment(a, device), a), "greater");
    }),
    { numRuns: NUM_RUNS },
  );
});
