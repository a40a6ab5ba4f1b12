import type { VersionVector } from "./version_vector.ts";

/** The kinds of entry fsync replicates. */
export type FileType = "file" | "directory" | "symlink";

/** Length of a SHA-256 digest in bytes. */
export const HASH_BYTES = 32;

/**
 * What a device knows of one path in a folder. Paths are relative, `/`-separated, NFC.
 * A file's blocks follow each other without gaps: block `i` starts where block `i - 1` ends.
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
  /** Byte length of each block, in order; they add up to `size` (content-defined: lib/scan/chunker.ts). */
  readonly blockSizes: Uint32Array;
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
  return file.blockSizes[index];
}

/** The offset at which each block starts. */
export function blockOffsets(file: FileInfo): number[] {
  const offsets = new Array<number>(file.blockSizes.length);
  let at = 0;
  for (let i = 0; i < offsets.length; i++) offsets[i] = at, at += file.blockSizes[i];
  return offsets;
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

/** Largest block size: one block travels in one message. */
export const MAX_BLOCK_SIZE = 1024 * 1024;

/**
 * Largest file fsync syncs (100 GiB): a file's index entry, 36 bytes a block (1 MiB blocks
 * from 16 GiB on), must fit one 4 MiB message.
 */
export const MAX_FILE_SIZE = 100 * 2 ** 30;

/** Modification time in nanoseconds from a `Deno.FileInfo` (Deno reports milliseconds). */
export function mtimeNsOf(mtime: Date | null): bigint {
  return BigInt(mtime?.getTime() ?? 0) * 1_000_000n;
}
