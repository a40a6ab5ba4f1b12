import assert from "node:assert/strict";
import { contentHashOf, type FileInfo, HASH_BYTES, sha256 } from "../model/mod.ts";
import { type BlockMapReads, PassBlockMap } from "./pass_block_map.ts";

/** A store's block map reads over `blocks` (hex hash → path), counting lookups. */
function reads(blocks: Map<string, string>): BlockMapReads & { lookups: number } {
  const hex = (h: Uint8Array) => [...h].map((b) => b.toString(16).padStart(2, "0")).join("");
  const out = {
    lookups: 0,
    hasBlocks: () => Promise.resolve(blocks.size > 0),
    findBlock: (hash: Uint8Array) => {
      out.lookups++;
      const path = blocks.get(hex(hash));
      return Promise.resolve(path ? [{ path, offset: 0 }] : []);
    },
  };
  return out;
}

/** A file entry whose blocks have these hashes. */
function fileOf(path: string, hashes: Uint8Array[], extra: Partial<FileInfo> = {}): FileInfo {
  const blockHashes = new Uint8Array(hashes.length * HASH_BYTES);
  hashes.forEach((h, i) => blockHashes.set(h, i * HASH_BYTES));
  return {
    path,
    type: "file",
    size: hashes.length,
    mtimeNs: 0n,
    mode: 0o644,
    deleted: false,
    version: { A: 1 },
    sequence: 1,
    blockSizes: new Uint32Array(hashes.length).fill(1),
    blockHashes,
    contentHash: contentHashOf(blockHashes),
    symlinkTarget: "",
    modifiedBy: "A",
    inode: 0,
    ...extra,
  };
}

const hash = (s: string) => sha256(new TextEncoder().encode(s));

Deno.test("a pass starting with an empty block map looks up only blocks it committed", async () => {
  const store = reads(new Map());
  const map = await PassBlockMap.open(store);
  assert.equal(await map.any(), false);
  assert.deepEqual(await map.find(hash("a")), []);
  assert.equal(store.lookups, 0, "nothing committed: no lookup");
  map.committed([
    fileOf("x", [hash("a"), hash("b")]),
    fileOf("gone", [hash("c")], { deleted: true }),
    fileOf("dir", [hash("d")], { type: "directory" }),
  ]);
  assert.equal(await map.any(), true);
  await map.find(hash("a"));
  await map.find(hash("b"));
  assert.equal(store.lookups, 2, "committed blocks are looked up");
  await map.find(hash("c"));
  await map.find(hash("d"));
  await map.find(hash("e"));
  assert.equal(store.lookups, 2, "tombstones, directories and unknown blocks are not");
});

Deno.test("a pass starting with blocks in the map looks every block up", async () => {
  const store = reads(new Map([[[...hash("a")].map((b) => b.toString(16).padStart(2, "0")).join(""), "old"]]));
  const map = await PassBlockMap.open(store);
  assert.equal(await map.any(), true);
  assert.deepEqual(await map.find(hash("a")), [{ path: "old", offset: 0 }]);
  await map.find(hash("z"));
  assert.equal(store.lookups, 2);
});

Deno.test("past 250,000 committed blocks a pass looks every block up again", async () => {
  const store = reads(new Map());
  const map = await PassBlockMap.open(store);
  const hashes = Array.from({ length: 250_001 }, (_, i) => Uint8Array.of(i >> 16, i >> 8, i, 0));
  map.committed([fileOf("big", hashes)]);
  await map.find(hash("never committed"));
  assert.equal(store.lookups, 1);
  assert.equal(await map.any(), true);
});
