import { type FileSystem, readFull, readFullSync, SYNC_IO_MAX_BYTES } from "../fs/mod.ts";
import { contentHashOf, HASH_BYTES, sha256 } from "../model/mod.ts";

/** A file changed size while it was being read. */
export class FileChangedError extends Error {}

/** Block hashes and content hash of a file. */
export interface FileHashes {
  readonly blockHashes: Uint8Array;
  readonly contentHash: Uint8Array;
}

/**
 * Reads a file once and hashes each block with SHA-256.
 *
 * @throws {FileChangedError} when the file does not have `size` bytes any more, or its
 * mtime is no longer `mtime` (when given) once read: it was written to meanwhile.
 */
export async function hashFile(
  fs: FileSystem,
  path: string,
  size: number,
  blockSize: number,
  mtime?: Date | null,
): Promise<FileHashes> {
  const count = Math.ceil(size / blockSize);
  const blockHashes = new Uint8Array(count * HASH_BYTES);
  const buffer = new Uint8Array(Math.min(blockSize, Math.max(size, 1)));
  const small = size <= SYNC_IO_MAX_BYTES; // synchronous calls: see SYNC_IO_MAX_BYTES
  using file = small ? fs.openSync(path, { read: true }) : await fs.open(path, { read: true });
  const read = (into: Uint8Array) => small ? readFullSync(file, into) : readFull(file, into);
  for (let i = 0; i < count; i++) {
    const want = Math.min(blockSize, size - i * blockSize);
    const got = await read(buffer.subarray(0, want));
    if (got !== want) throw new FileChangedError(`${path} shrank while being hashed`);
    blockHashes.set(sha256(buffer.subarray(0, want)), i * HASH_BYTES);
  }
  if ((await read(buffer.subarray(0, 1))) !== 0) throw new FileChangedError(`${path} grew while being hashed`);
  const after = small ? file.statSync() : await file.stat();
  if (mtime && after.mtime?.getTime() !== mtime.getTime()) {
    throw new FileChangedError(`${path} changed while being hashed`);
  }
  return { blockHashes, contentHash: contentHashOf(blockHashes) };
}
