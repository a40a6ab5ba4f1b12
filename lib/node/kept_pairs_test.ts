import assert from "node:assert/strict";
import type { FileInfo } from "../model/mod.ts";
import type { IndexPair } from "../store/mod.ts";
import { keeping, type KeptPairs } from "./kept_pairs.ts";

function entry(path: string, blocks: number): FileInfo {
  return {
    path,
    type: "file",
    size: blocks * 100,
    mtimeNs: 0n,
    mode: 0o644,
    deleted: false,
    version: {},
    sequence: 1,
    blockHashes: new Uint8Array(32 * blocks),
    blockSizes: new Uint32Array(blocks),
    contentHash: new Uint8Array(32),
    symlinkTarget: "",
    modifiedBy: "AAAAAAA",
    inode: 0,
  };
}

async function* from(pairs: IndexPair[]): AsyncGenerator<IndexPair> {
  yield* pairs;
}

Deno.test("keeping(): pairs pass on unchanged; they are kept whole while under both limits", async (t) => {
  // Each pair: a remote entry of 2 blocks (72 bytes of block list) and, for every other one, a local of 1 (36).
  const pairs = Array.from({ length: 10 }, (_, i) => ({
    remote: entry(`f${i}`, 2),
    local: i % 2 === 0 ? entry(`f${i}`, 1) : undefined,
  }));
  const bytes = 10 * 72 + 5 * 36;
  const cases = [
    { description: "few and small: kept", limits: { pairs: 10, blockListBytes: bytes }, whole: true },
    { description: "one pair too many: not kept", limits: { pairs: 9, blockListBytes: bytes }, whole: false },
    { description: "one byte too many: not kept", limits: { pairs: 10, blockListBytes: bytes - 1 }, whole: false },
  ];
  for (const c of cases) {
    await t.step(c.description, async () => {
      const kept: KeptPairs = { pairs: [], whole: true };
      const passed = await Array.fromAsync(keeping(from(pairs), kept, c.limits));
      assert.equal(passed.length, pairs.length);
      assert.ok(passed.every((p, i) => p === pairs[i]), "every pair passes on, in order");
      assert.equal(kept.whole, c.whole);
      assert.equal(kept.pairs.length, c.whole ? pairs.length : 0, "a partial keep holds nothing");
      if (c.whole) assert.ok(kept.pairs.every((p, i) => p === pairs[i]));
    });
  }
});
