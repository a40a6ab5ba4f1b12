/** @module Fixtures of the puller's tests: entries describing data, block sources, options. */
import { join } from "node:path";
import { denoFs, type FileSystem } from "../fs/mod.ts";
import {
  type BlockWant,
  conflictName,
  contentHashOf,
  type FileInfo,
  HASH_BYTES,
  mtimeNsOf,
  sha256,
} from "../model/mod.ts";
import type { BlockSource } from "./block_gather.ts";
import type { PullerOptions } from "./puller.ts";
import { TempLedger } from "./temp_ledger.ts";

export const BLOCK = 128 * 1024;

/** A file entry describing `data`, as a peer's scanner would announce it. */
export function describe(
  path: string,
  data: Uint8Array,
  version: Record<string, number>,
  extra: Partial<FileInfo> = {},
): FileInfo {
  const count = Math.ceil(data.length / BLOCK);
  const blockHashes = new Uint8Array(count * HASH_BYTES);
  for (let i = 0; i < count; i++) blockHashes.set(sha256(data.subarray(i * BLOCK, (i + 1) * BLOCK)), i * HASH_BYTES);
  return {
    path,
    type: "file",
    size: data.length,
    mtimeNs: 1_700_000_000_000_000_000n,
    mode: 0o640,
    deleted: false,
    version,
    sequence: 1,
    blockSizes: Uint32Array.from({ length: count }, (_, i) => Math.min(BLOCK, data.length - i * BLOCK)),
    blockHashes,
    contentHash: contentHashOf(blockHashes),
    symlinkTarget: "",
    modifiedBy: "PEER000",
    inode: 0,
    ...extra,
  };
}

/** Serves blocks of `data`, counting requests; `corrupt` flips a byte of every answer. */
export class MemorySource implements BlockSource {
  requested: BlockWant[] = [];
  constructor(readonly data: Uint8Array, readonly corrupt = false) {}
  fetchBlock(want: BlockWant): Promise<Uint8Array> {
    this.requested.push(want);
    const out = this.data.slice(want.offset, want.offset + want.size);
    if (this.corrupt) out[0] ^= 1;
    return Promise.resolve(out);
  }
}

export function pattern(size: number, seed: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 31 + seed * 7 + (i >> 12)) & 0xff);
}

export async function localEntry(root: string, file: FileInfo): Promise<FileInfo> {
  const st = await Deno.lstat(join(root, file.path));
  return { ...file, mtimeNs: mtimeNsOf(st.mtime), inode: st.ino ?? 0, mode: (st.mode ?? 0) & 0o777 };
}

export async function inTempDir(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Puller options for a pull into `root` from `source`. */
export function options(
  root: string,
  source: BlockSource,
  temps: TempLedger = new TempLedger(denoFs),
  fs: FileSystem = denoFs,
): PullerOptions {
  // As lib/plan's conflictCopyOf names and versions it (the puller only renames).
  const conflictCopy = (live: FileInfo) => ({
    ...live,
    path: conflictName(live.path, new Date(Date.UTC(2026, 10, 24, 12)), live.modifiedBy || "ME00000"),
    version: { ME00000: 1 },
    modifiedBy: "ME00000",
    sequence: 0,
  });
  return { root, fs, source, conflictCopy, temps };
}

/** Serves the blocks of `data` below `from`; asks for others fail 20 ms later, as a peer gone away would. */
export class FailingSource extends MemorySource {
  constructor(data: Uint8Array, readonly from: number) {
    super(data);
  }
  override fetchBlock(want: BlockWant): Promise<Uint8Array> {
    if (want.offset < this.from) return super.fetchBlock(want);
    this.requested.push(want);
    return new Promise((_, reject) => setTimeout(() => reject(new Error("peer went away")), 20));
  }
}
