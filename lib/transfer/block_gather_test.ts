import assert from "node:assert/strict";
import { join } from "node:path";
import { denoFs } from "../fs/mod.ts";
import { contentHashOf, type FileInfo, sha256 } from "../model/mod.ts";
import { type GatherOptions, reuseLocalBlocks } from "./block_gather.ts";
import { openTempFile } from "./temp_file.ts";

const BLOCK = 128 * 1024;

/** A file of `blocks` distinct blocks, as a peer would announce it. */
function announced(blocks: number): FileInfo {
  const hashes = new Uint8Array(32 * blocks);
  for (let i = 0; i < blocks; i++) hashes.set(sha256(new Uint8Array(BLOCK).fill(i + 1)), 32 * i);
  return {
    path: "new.bin",
    type: "file",
    size: blocks * BLOCK,
    mtimeNs: 1_700_000_000_000_000_000n,
    mode: 0o644,
    deleted: false,
    version: { PEER000: 1 },
    sequence: 1,
    blockSizes: new Uint32Array(blocks).fill(BLOCK),
    blockHashes: hashes,
    contentHash: contentHashOf(hashes),
    symlinkTarget: "",
    modifiedBy: "PEER000",
    inode: 0,
  };
}

Deno.test("reuseLocalBlocks: a file of many blocks looks none up when the block map is empty, and each when it is not", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const [mapHasBlocks, blocks, lookups] of [[false, 8, 0], [true, 8, 8], [false, 1, 1]] as const) {
      let looked = 0;
      const options: GatherOptions = {
        root,
        fs: denoFs,
        source: { fetchBlock: () => Promise.reject(new Error("not fetched here")) },
        findBlock: () => (looked++, Promise.resolve([])),
        anyLocalBlock: () => Promise.resolve(mapHasBlocks),
      };
      const file = announced(blocks);
      await using temp = await openTempFile(denoFs, join(root, ".tmp"), file.size);
      const missing = Array.from({ length: blocks }, (_, i) => i);
      assert.deepEqual(await reuseLocalBlocks(options, file, undefined, undefined, temp, missing), new Set());
      assert.equal(looked, lookups, `map has blocks: ${mapHasBlocks}, ${blocks} blocks`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
