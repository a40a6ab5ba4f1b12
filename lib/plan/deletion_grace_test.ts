import assert from "node:assert/strict";
import fc from "fast-check";
import type { FileInfo } from "../model/mod.ts";
import { entry, tombstone } from "./_fixtures_test_support.ts";
import { holdFreshDeletions } from "./deletion_grace.ts";

const GRACE = 1_000;
const NOW = 50_000;
const live = (path: string) => entry({ path });
const gone = (path: string) => tombstone(entry({ path }), { A: 2 }, "A");
const everything = () => true;

Deno.test("holdFreshDeletions() commits a tombstone once its path has been gone for the grace", async (t) => {
  const cases: {
    description: string;
    entries: FileInfo[];
    covered?: (path: string) => boolean;
    before: [string, number][];
    graceMs?: number;
    commit: string[];
    held: [string, number][];
  }[] = [
    {
      description: "a path first seen gone is held, from now",
      entries: [gone("a")],
      before: [],
      commit: [],
      held: [["a", NOW]],
    },
    {
      description: "seen gone for less than the grace: still held, from when first seen",
      entries: [gone("a")],
      before: [["a", NOW - GRACE + 1]],
      commit: [],
      held: [["a", NOW - GRACE + 1]],
    },
    {
      description: "seen gone for exactly the grace: committed and forgotten",
      entries: [gone("a")],
      before: [["a", NOW - GRACE]],
      commit: ["a"],
      held: [],
    },
    {
      description: "back before the grace ended: its entry commits, nothing is held",
      entries: [live("a")],
      before: [["a", NOW - 10]],
      commit: ["a"],
      held: [],
    },
    {
      description: "covered, found nothing (its tombstone was committed by another scan): forgotten",
      entries: [],
      before: [["a", NOW - 10]],
      commit: [],
      held: [],
    },
    {
      description: "not covered by this scan: still held, from when first seen",
      entries: [live("b")],
      covered: (path) => path === "b",
      before: [["a", NOW - 10]],
      commit: ["b"],
      held: [["a", NOW - 10]],
    },
    {
      description: "a moved directory: the new paths commit at once, the old ones wait",
      entries: [live("new"), live("new/x"), gone("old"), gone("old/x")],
      before: [],
      commit: ["new", "new/x"],
      held: [["old", NOW], ["old/x", NOW]],
    },
    {
      description: "entries other than tombstones keep their order around held ones",
      entries: [live("c"), gone("b"), live("a")],
      before: [],
      commit: ["c", "a"],
      held: [["b", NOW]],
    },
    {
      description: "no grace: every tombstone commits, nothing is held",
      entries: [gone("a"), live("b"), gone("c")],
      before: [],
      graceMs: 0,
      commit: ["a", "b", "c"],
      held: [],
    },
  ];
  for (const c of cases) {
    await t.step(c.description, () => {
      const out = holdFreshDeletions(c.entries, c.covered ?? everything, new Map(c.before), NOW, c.graceMs ?? GRACE);
      assert.deepEqual(out.commit.map((f) => f.path), c.commit);
      assert.deepEqual([...out.goneSince].sort(), c.held.sort());
    });
  }
});

Deno.test("holdFreshDeletions(): nothing is lost or invented, and a path gone long enough is never held (property)", () => {
  const path = fc.constantFrom<string>("a", "b", "c", "d/e", "d/f");
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.record({ path, deleted: fc.boolean() }), { selector: (e) => e.path }),
      fc.array(fc.tuple(path, fc.integer({ min: NOW - 3 * GRACE, max: NOW })), { maxLength: 5 }),
      fc.subarray(["a", "b", "c", "d/e", "d/f"]),
      (specs, before, uncovered) => {
        const entries = specs.map((s) => s.deleted ? gone(s.path) : live(s.path));
        const scanned = new Set([...entries.map((e) => e.path), ...before.map(([p]) => p)]);
        const covered = (p: string) => !uncovered.includes(p) || entries.some((e) => e.path === p);
        const since = new Map<string, number>(before);
        const out = holdFreshDeletions(entries, covered, since, NOW, GRACE);
        // Every entry is either committed, in its order, or a tombstone held by its path.
        const heldNow = entries.filter((e) => !out.commit.includes(e));
        assert.deepEqual(out.commit, entries.filter((e) => out.commit.includes(e)));
        for (const e of heldNow) assert.ok(e.deleted && out.goneSince.has(e.path), `${e.path} dropped`);
        for (const e of out.commit) if (e.deleted) assert.ok(NOW - (since.get(e.path) ?? NOW) >= GRACE);
        for (const e of entries) if (!e.deleted) assert.ok(out.commit.includes(e) && !out.goneSince.has(e.path));
        // Held paths are this scan's young tombstones, or uncovered paths held before, with their first time.
        for (const [p, t] of out.goneSince) {
          assert.ok(scanned.has(p));
          assert.ok(NOW - t < GRACE || !covered(p), `${p} held past its grace`);
          if (since.has(p)) assert.equal(t, since.get(p));
        }
      },
    ),
  );
});
