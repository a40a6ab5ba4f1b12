import { contentHashOf, type FileInfo, sha256 } from "../model/mod.ts";

/** A file entry for plan tests: content is a short string, hashed like the scanner would. */
export function entry(overrides: Partial<FileInfo> & { content?: string } = {}): FileInfo {
  const { content = "v1", ...rest } = overrides;
  const blockHashes = sha256(new TextEncoder().encode(content));
  return {
    path: "a.txt",
    type: "file",
    size: content.length,
    mtimeNs: 1_000n,
    mode: 0o644,
    deleted: false,
    version: { A: 1 },
    sequence: 1,
    blockSizes: Uint32Array.of(content.length),
    blockHashes,
    contentHash: contentHashOf(blockHashes),
    symlinkTarget: "",
    modifiedBy: "A",
    inode: 0,
    ...rest,
  };
}

/** The tombstone of an entry, as device `by` would record it at `mtimeNs`. */
export function tombstone(of: FileInfo, version: Record<string, number>, by: string, mtimeNs = of.mtimeNs): FileInfo {
  return {
    ...of,
    deleted: true,
    version,
    modifiedBy: by,
    mtimeNs,
    size: 0,
    blockHashes: new Uint8Array(),
    contentHash: new Uint8Array(),
  };
}
