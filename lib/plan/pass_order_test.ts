import assert from "node:assert/strict";
import type { Decision, FileInfo } from "../model/mod.ts";
import { deletionOrder, type PassStage, stageOf } from "./pass_order.ts";
import { prng } from "../../tests/support/chaos.ts";

function entry(path: string, type: FileInfo["type"], deleted = false): FileInfo {
  return {
    path,
    type,
    size: 0,
    mtimeNs: 1n,
    mode: 0o644,
    deleted,
    version: { A: 1 },
    sequence: 1,
    blockSizes: new Uint32Array(),
    blockHashes: new Uint8Array(),
    contentHash: new Uint8Array(32),
    symlinkTarget: "",
    modifiedBy: "A",
    inode: 0,
  };
}

Deno.test("stageOf(): when a pull pass carries out each kind of decision", async (t) => {
  type Act = Exclude<Decision, { action: "keep" }>;
  const fetch = (type: FileInfo["type"]): Act => ({
    action: "fetch",
    file: entry("p", type),
    keepLocalAsConflict: false,
  });
  const cases: { description: string; decision: Act; local?: FileInfo; want: PassStage }[] = [
    { description: "a new file is fetched alongside others", decision: fetch("file"), want: "parallel" },
    { description: "a new directory is made at once", decision: fetch("directory"), want: "in-order" },
    { description: "a new symlink is made at once", decision: fetch("symlink"), want: "in-order" },
    {
      description: "a changed file over a file",
      decision: fetch("file"),
      local: entry("p", "file"),
      want: "parallel",
    },
    {
      description: "a file where a live directory is waits for the deletes",
      decision: fetch("file"),
      local: entry("p", "directory"),
      want: "replace",
    },
    {
      description: "a symlink where a live directory is waits for the deletes",
      decision: fetch("symlink"),
      local: entry("p", "directory"),
      want: "replace",
    },
    {
      description: "a directory over a directory is made at once",
      decision: fetch("directory"),
      local: entry("p", "directory"),
      want: "in-order",
    },
    {
      description: "a file where a deleted directory was",
      decision: fetch("file"),
      local: entry("p", "directory", true),
      want: "parallel",
    },
    {
      description: "a deletion waits for the end",
      decision: { action: "delete", file: entry("p", "file", true) },
      local: entry("p", "file"),
      want: "delete",
    },
    {
      description: "a metadata change is made at once",
      decision: { action: "update-metadata", file: entry("p", "file") },
      local: entry("p", "file"),
      want: "in-order",
    },
    {
      description: "a record is made at once",
      decision: { action: "record", file: entry("p", "file", true) },
      want: "in-order",
    },
  ];
  for (const c of cases) {
    await t.step(c.description, () => assert.equal(stageOf(c.decision, c.local), c.want));
  }
});

Deno.test("deletionOrder(): every path comes before its parents, and the order is otherwise kept (property over random trees)", () => {
  const random = prng(7);
  for (let round = 0; round < 200; round++) {
    const paths = new Set<string>();
    for (let i = 0; i < 1 + Math.floor(random() * 30); i++) {
      const depth = 1 + Math.floor(random() * 5);
      const parts = Array.from({ length: depth }, () => "abc"[Math.floor(random() * 3)]);
      for (let d = 1; d <= depth; d++) paths.add(parts.slice(0, d).join("/"));
    }
    const deletes = [...paths].sort(() => random() - 0.5).map((path) => ({ file: { path } }));
    const ordered = deletionOrder(deletes).map((d) => d.file.path);
    assert.equal(ordered.length, deletes.length);
    for (const [i, path] of ordered.entries()) {
      for (const later of ordered.slice(i + 1)) {
        assert.ok(!later.startsWith(path + "/"), `${later} after its parent ${path}`);
      }
    }
    const sameDepth = (p: string) => ordered.filter((q) => q.split("/").length === p.split("/").length);
    for (const path of ordered) {
      const peers = sameDepth(path);
      const given = deletes.map((d) => d.file.path).filter((q) => peers.includes(q));
      assert.deepEqual(peers, given, "same depth: as given");
    }
  }
});
