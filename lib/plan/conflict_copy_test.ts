import assert from "node:assert/strict";
import type { FileInfo } from "../model/mod.ts";
import { conflictCopyOf } from "./conflict_copy.ts";

const AT = new Date(Date.UTC(2026, 10, 24, 12, 30, 5));

function entry(path: string, modifiedBy: string, version: Record<string, number>): FileInfo {
  return {
    path,
    type: "file",
    size: 4,
    mtimeNs: 1n,
    mode: 0o640,
    deleted: false,
    version,
    sequence: 12,
    blockSizes: new Uint32Array(),
    blockHashes: new Uint8Array(32),
    contentHash: new Uint8Array(32).fill(1),
    symlinkTarget: "",
    modifiedBy,
    inode: 5,
  };
}

Deno.test("conflictCopyOf(): the copy's name, version, origin and sequence", async (t) => {
  const cases: { description: string; live: FileInfo; self: string; path: string }[] = [
    {
      description: "this device's own edit lost",
      live: entry("docs/a.txt", "B", { A: 2, B: 5 }),
      self: "B",
      path: "docs/a.sync-conflict-20261124-123005-B.txt",
    },
    {
      description: "a third device's edit, held here, lost: named for its maker",
      live: entry("a.txt", "C", { C: 1 }),
      self: "B",
      path: "a.sync-conflict-20261124-123005-C.txt",
    },
    {
      description: "an entry with no maker recorded is named for this device",
      live: entry("Makefile", "", { A: 1 }),
      self: "B",
      path: "Makefile.sync-conflict-20261124-123005-B",
    },
  ];
  for (const c of cases) {
    await t.step(c.description, () => {
      const copy = conflictCopyOf(c.live, AT, c.self);
      assert.equal(copy.path, c.path);
      assert.deepEqual(copy.version, { [c.self]: 1 }, "a new file of this device's, dominated by nothing");
      assert.equal(copy.modifiedBy, c.self);
      assert.equal(copy.sequence, 0, "the store assigns it");
      assert.deepEqual(copy.contentHash, c.live.contentHash, "the content is the local version's");
      assert.equal(copy.mode, c.live.mode);
    });
  }
});
