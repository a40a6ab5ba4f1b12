import assert from "node:assert/strict";
import { RecentRemote } from "./_recent_remote.ts";
import { entryAt as entry } from "./_recent_fixtures.ts";

Deno.test("recent remote entries: the latest 1,024 of a peer's index, answered only under their sequence and path key", () => {
  const recent = new RecentRemote();
  recent.added("f\0P", Array.from({ length: 2000 }, (_, i) => entry(`p${i}`, i + 1)));
  assert.equal(recent.entryAt("f\0P", 976, "p975"), undefined, "evicted");
  assert.equal(recent.entryAt("f\0P", 977, "p976")?.path, "p976");
  assert.equal(recent.entryAt("f\0P", 2000, "p1999")?.path, "p1999");
  assert.equal(recent.entryAt("f\0P", 2000, "p1"), undefined, "another path key");
  assert.equal(recent.entryAt("f\0Q", 2000, "p1999"), undefined, "another peer");
  recent.added("f\0P", [entry("p1999", 2001)]);
  assert.equal(recent.entryAt("f\0P", 2000, "p1999"), undefined, "replaced by a later sequence");
  assert.equal(recent.entryAt("f\0P", 2001, "p1999")?.sequence, 2001);
  recent.forget("f\0P");
  assert.equal(recent.entryAt("f\0P", 2001, "p1999"), undefined, "forgotten");
});

Deno.test("recent remote entries stay under 2 MiB for all indexes together, block lists included", () => {
  const recent = new RecentRemote();
  const keptOf = (index: string) =>
    Array.from({ length: 100 }, (_, i) => recent.entryAt(index, i + 1, `p${i}`)).filter((e) => e).length;
  // About 36 KiB each: 56 fit in 2 MiB.
  recent.added("f\0P", Array.from({ length: 100 }, (_, i) => entry(`p${i}`, i + 1, 1000)));
  assert.ok(keptOf("f\0P") >= 53 && keptOf("f\0P") <= 57, `${keptOf("f\0P")} kept`);
  assert.equal(recent.entryAt("f\0P", 100, "p99")?.path, "p99", "the latest stay");
  // Another index written to later: the first, written to least lately, goes first.
  recent.added("f\0Q", Array.from({ length: 40 }, (_, i) => entry(`p${i}`, i + 1, 1000)));
  assert.equal(keptOf("f\0Q"), 40);
  assert.ok(keptOf("f\0P") === 0, `${keptOf("f\0P")} of the first index kept`);
});

Deno.test("a sequence sent again for another path replaces the entry kept for it", () => {
  const recent = new RecentRemote();
  recent.added("f\0P", [entry("a", 1)]);
  recent.added("f\0P", [entry("b", 1)]);
  assert.equal(recent.entryAt("f\0P", 1, "a"), undefined);
  assert.equal(recent.entryAt("f\0P", 1, "b")?.path, "b");
});
