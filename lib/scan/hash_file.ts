import { type FileSystem, readFull, readFullSync, SYNC_IO_MAX_BYTES } from "../fs/mod.ts";
import { contentHashOf, HASH_BYTES, sha256 } from "../model/mod.ts";
import { Chunker, chunkSizesFor } from "./chunker.ts";

/** A file changed size while it was being read. */
export class FileChangedError extends Error {}

/** Block hashes, block sizes and content hash of a file. */
export interface FileHashes {
  readonly blockHashes: Uint8Array;
  readonly blockSizes: Uint32Array;
  readonly contentHash: Uint8Array;
}

/**
 * Reads a file once, cuts it into content-defined blocks (chunker.ts) and hashes each block
 * with SHA-256 in the same pass: no byte is read or hashed twice. A file of at most the
 * minimum block size is one block.
 *
 * @throws {FileChangedError} when the file does not have `size` bytes any more, or its
 * mtime is no longer `mtime` (when given) once read: it was written to meanwhile.
 */
export async function hashFile(
  fs: FileSystem,
  path: string,
  size: number,
  mtime?: Date | null,
): Promise<FileHashes> {
  const small = size <= SYNC_IO_MAX_BYTES; // synchronous calls: see SYNC_IO_MAX_BYTES
  using file = small ? fs.openSync(path, { read: true }) : await fs.open(path, { read: true });
  const read = (into: Uint8Array) => small ? readFullSync(file, into) : readFull(file, into);
  const sizes = chunkSizesFor(size);
  const hashes: Uint8Array[] = [];
  const lengths: number[] = [];
  if (size <= sizes.min) {
    const buffer = new Uint8Array(size);
    if (await read(buffer) !== size) throw new FileChangedError(`${path} shrank while being hashed`);
    if (size > 0) hashes.push(sha256(buffer)), lengths.push(size);
  } else {
    using chunker = Chunker.take();
    const { window } = chunker;
    let start = 0; // of the next block, in the window
    let filled = 0; // bytes of the file in the window
    let consumed = 0; // bytes of the file read into the window so far
    while (start < filled || consumed < size) {
      if (consumed < size && filled - start < sizes.max) {
        window.copyWithin(0, start, filled);
        filled -= start;
        start = 0;
        const want = Math.min(window.length - filled, size - consumed);
        if (await read(window.subarray(filled, filled + want)) !== want) {
          throw new FileChangedError(`${path} shrank while being hashed`);
        }
        filled += want;
        consumed += want;
        continue;
      }
      const end = chunker.blockEnd(start, filled - start, sizes, consumed === size);
      hashes.push(sha256(window.subarray(start, end)));
      lengths.push(end - start);
      start = end;
    }
  }
  if ((await read(new Uint8Array(1))) !== 0) throw new FileChangedError(`${path} grew while being hashed`);
  const after = small ? file.statSync() : await file.stat();
  if (mtime && after.mtime?.getTime() !== mtime.getTime()) {
    throw new FileChangedError(`${path} changed while being hashed`);
  }
  const blockHashes = new Uint8Array(hashes.length * HASH_BYTES);
  hashes.forEach((h, i) => blockHashes.set(h, i * HASH_BYTES));
  return { blockHashes, blockSizes: Uint32Array.from(lengths), contentHash: contentHashOf(blockHashes) };
}
