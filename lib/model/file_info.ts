import type { VersionVector } from "./version_vector.ts";

/** The kinds of entry fsync replicates. */
export type FileType = "file" | "directory" | "symlink";

/** Length of a SHA-256 digest in bytes. */
export const HASH_BYTES = 32;

/**
 * What a device knows of one path in a folder. Paths are relative, `/`-separated, NFC.
 * Block `i` covers bytes `[i * blockSize, min(size, (i + 1) * blockSize))`.
 */
export interface FileInfo {
  readonly path: string;
  readonly type: FileType;
  /** Bytes; 0 for directories and symlinks. */
  readonly size: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
  /**
   * Permission bits, at most 0o777: setuid, setgid and sticky bits are never recorded, sent or
   * applied (a peer could otherwise plant a setuid file on a device that runs fsync as root).
   */
  readonly mode: number;
  /** A tombstone: the path was deleted at this version. */
  readonly deleted: boolean;
  readonly version: VersionVector;
  /** Sequence of the owning index at which this entry last changed. */
  readonly sequence: number;
  readonly blockSize: number;
  /** SHA-256 of each block, concatenated. */
  readonly blockHashes: Uint8Array;
  /** SHA-256 over `blockHashes`: names the whole content. */
  readonly contentHash: Uint8Array;
  readonly symlinkTarget: string;
  /** Short ID of the device that made this version. */
  readonly modifiedBy: string;
  /** Local index only: inode at the last scan, to notice replaced files. 0 when unknown. */
  readonly inode: number;
}

/** Number of blocks of a file entry. */
export function blockCount(file: FileInfo): number {
  return file.blockHashes.length / HASH_BYTES;
}

/** The SHA-256 of block `index` (a view, not a copy). */
export function blockHash(file: FileInfo, index: number): Uint8Array {
  return file.blockHashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
}

/** Byte length of block `index`. */
export function blockLength(file: FileInfo, index: number): number {
  return Math.min(file.blockSize, file.size - index * file.blockSize);
}

/** True when both entries describe the same content of the same type (metadata aside). */
export function sameContent(a: FileInfo, b: FileInfo): boolean {
  if (a.type !== b.type || a.deleted !== b.deleted) return false;
  if (a.deleted) return true;
  switch (a.type) {
    case "directory":
      return true;
    case "symlink":
      return a.symlinkTarget === b.symlinkTarget;
    case "file":
      return a.size === b.size && equalBytes(a.contentHash, b.contentHash);
  }
}

/** True when both entries would leave the same bytes, type, mode and mtime on disk. */
export function sameOnDisk(a: FileInfo, b: FileInfo): boolean {
  return sameContent(a, b) &&
    (a.deleted || (a.mode === b.mode && (a.type === "symlink" || a.mtimeNs === b.mtimeNs)));
}

/** Byte-wise equality of two arrays. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Smallest block size; files grow it by powers of two (DESIGN "Transfer"). */
export const MIN_BLOCK_SIZE = 128 * 1024;
/** Largest block size: one block travels in one message. */
export const MAX_BLOCK_SIZE = 1024 * 1024;

/** Block count a file's block size aims to stay under. */
export const TARGET_MAX_BLOCKS = 2048;

/**
 * The block size for a file of `size` bytes: 128 KiB, doubled until the file has at most
 * 2048 blocks, capped at 1 MiB.
 *
 * @example
 * ```ts
 * import { blockSizeFor } from "./file_info.ts";
 * import assert from "node:assert/strict";
 * assert.equal(blockSizeFor(64 * 2 ** 20), 128 * 1024);
 * assert.equal(blockSizeFor(2 ** 30), 512 * 1024);
 * ```
 */
export function blockSizeFor(size: number): number {
  let blockSize = MIN_BLOCK_SIZE;
  while (blockSize < MAX_BLOCK_SIZE && size > blockSize * TARGET_MAX_BLOCKS) blockSize *= 2;
  return blockSize;
}

/** Modification time in nanoseconds from a `Deno.FileInfo` (Deno reports milliseconds). */
export function mtimeNsOf(mtime: Date | null): bigint {
  return BigInt(mtime?.getTime() ?? 0) * 1_000_000n;
}
