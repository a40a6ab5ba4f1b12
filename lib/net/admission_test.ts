import assert from "node:assert/strict";
import { Admission, type AdmissionLimits, sourceOf } from "./admission.ts";

const limits: AdmissionLimits = { unauthenticated: 5, authenticated: 2 };

/** A step of a table: an arrival ("+key@source"), progress ("~key"), authentication ("!key") or a close ("-key"). */
type Step = [op: string, expected: string[] | boolean];

function run(steps: Step[]): void {
  const admission = new Admission<string>(limits);
  steps.forEach(([op, expected], t) => {
    const key = op.slice(1).split("@")[0];
    const got = op[0] === "+"
      ? admission.accept(key, op.split("@")[1], t).map((e) => e.key)
      : op[0] === "~"
      ? (admission.progress(key, t), [])
      : op[0] === "!"
      ? admission.authenticate(key)
      : (admission.release(key), []);
    assert.deepEqual(got, expected, `step ${t}: ${op}`);
  });
}

Deno.test("Admission: at the cap, the busiest source loses its stalest connection; other sources keep theirs", () => {
  run([
    ["+a1@A", []],
    ["+b1@B", []],
    ["+a2@A", []],
    ["+a3@A", []],
    ["+a4@A", []],
    ["+a5@A", ["a1"]], // A holds 4: the busiest
    ["+b2@B", ["a2"]],
    ["+c1@C", ["a3"]], // A still holds 3
    ["+c2@C", ["b1"]], // A and B hold 2: b1 is the stalest of both
    ["+d1@D", ["a4"]], // A and C hold 2
    ["+a6@A", ["c1"]], // C holds 2
  ]);
});

Deno.test("Admission: a connection that makes progress outlives stalled ones of its source", () => {
  run([
    ["+a1@A", []],
    ["+a2@A", []],
    ["+a3@A", []],
    ["+a4@A", []],
    ["+a5@A", []],
    ["~a1", []],
    ["+a6@A", ["a2"]],
    ["+a7@A", ["a3"]],
    ["+a8@A", ["a4"]],
    ["+a9@A", ["a5"]],
    ["+a10@A", ["a1"]], // now the stalest
  ]);
});

Deno.test("Admission: authenticated connections leave the unauthenticated cap and have their own", () => {
  run([
    ["+a1@A", []],
    ["+a2@A", []],
    ["+a3@A", []],
    ["!a1", true],
    ["!a2", true],
    ["+a4@A", []],
    ["+a5@A", []],
    ["+a6@A", []],
    ["+a7@A", []], // five unauthenticated: a3 to a7
    ["+a8@A", ["a3"]],
    ["!a4", false], // two authenticated already: refused, and forgotten
    ["+a9@A", []],
    ["-a1", []],
    ["!a5", true],
    ["!x", false], // closed or never accepted
  ]);
});

Deno.test("Admission: a flood from one source never evicts another source's connection, nor a handshake that advances", () => {
  const admission = new Admission<string>({ unauthenticated: 256, authenticated: 256 });
  admission.accept("joiner", "10.0.0.2", 0);
  admission.accept("mine", "10.0.0.9", 0);
  for (let i = 1; i <= 10_000; i++) {
    if (i % 100 === 0) admission.progress("mine", i); // a handshake step every 100 arrivals
    for (const { key } of admission.accept(`x${i}`, "10.0.0.9", i)) assert.ok(key !== "joiner" && key !== "mine");
  }
  assert.deepEqual(admission.counts, { unauthenticated: 256, authenticated: 0 });
  assert.ok(admission.authenticate("joiner"));
  assert.ok(admission.authenticate("mine"));
});

Deno.test("Admission: many sources of one connection each at the cap: the stalest goes", () => {
  const admission = new Admission<string>({ unauthenticated: 128, authenticated: 256 });
  for (let i = 0; i < 128; i++) admission.accept(`s${i}`, `10.0.${i}.1`, i);
  admission.progress("s0", 500);
  const evicted = admission.accept("late", "10.1.0.1", 600);
  assert.deepEqual(evicted, [{ key: "s1", source: "10.0.1.1" }]);
  assert.equal(admission.counts.unauthenticated, 128);
});

Deno.test("sourceOf: IPv4 (also mapped) as is, IPv6 by its /64", () => {
  const table: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:192.168.1.20", "192.168.1.20"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["2001:0db8:0000:0002::ab", "2001:db8:0:2::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
  ];
  for (const [address, source] of table) assert.equal(sourceOf(address), source, address);
});
