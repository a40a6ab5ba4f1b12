import assert from "node:assert/strict";
import type { FileInfo } from "../model/mod.ts";
import { RecentLocal } from "./_recent_local.ts";
import { entryAt } from "./_recent_fixtures.ts";

/** `count` entries with consecutive sequences from `first`, each with a list of `blocks` blocks (36 bytes each). */
function entries(first: number, count: number, blocks: number): FileInfo[] {
  return Array.from({ length: count }, (_, i) => entryAt(`p${first + i}`, first + i, blocks));
}

Deno.test("recent local entries stay under 4 MiB for all folders together: the folder committed to least lately goes first", () => {
  const recent = new RecentLocal();
  // About 2.5 MB a folder: 100 entries of 700 blocks.
  recent.added("f1", entries(1, 100, 700));
  recent.added("f2", entries(1, 100, 700));
  assert.equal(recent.since("f1", 0)?.length, undefined, "f1 was forgotten for f2");
  assert.equal(recent.since("f2", 0)?.length, 100);
  recent.added("f3", entries(1, 10, 1));
  assert.equal(recent.since("f2", 0)?.length, 100, "a small commit elsewhere forgets nothing");
  // One folder alone over the bound gives up its oldest entries.
  recent.added("f3", entries(11, 200, 700));
  assert.equal(recent.since("f2", 0)?.length, undefined);
  assert.equal(recent.since("f3", 0)?.length, undefined);
  const tail = recent.since("f3", 170);
  assert.deepEqual(tail?.map((f) => f.sequence), Array.from({ length: 40 }, (_, i) => 171 + i));
});
