/**
 * Deterministic dataset generator for tests, the demo and benchmarks: nested directories
 * of small files, plus the awkward cases a sync tool must get right (empty files, an empty
 * directory, an executable, names with spaces and Unicode, a symlink, large files).
 */
import { dirname, join } from "node:path";

/** What to generate. */
export interface TreeSpec {
  /** Number of small files (besides the special cases). */
  readonly smallFiles: number;
  /** Largest small file in bytes (sizes are spread from 0 up to it). */
  readonly maxSmallBytes: number;
  /** Sizes of large files, in bytes. */
  readonly largeFiles: readonly number[];
  readonly seed: number;
}

/** A summary of a generated tree. */
export interface TreeSummary {
  readonly files: number;
  readonly bytes: number;
}

/** Fills `out` with pseudo-random bytes from a xorshift32 stream (fast and reproducible). */
export function fillPseudoRandom(out: Uint8Array, seed: number): void {
  let x = (seed >>> 0) || 0x9e3779b9;
  const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < out.length; i++) out[i] = (i * 31 + seed) & 0xff;
}

/** Writes the tree described by `spec` under `root` (which must exist). */
export async function generateTree(root: string, spec: TreeSpec): Promise<TreeSummary> {
  let files = 0;
  let bytes = 0;
  const write = async (path: string, data: Uint8Array, mode = 0o644) => {
    await Deno.mkdir(dirname(join(root, path)), { recursive: true });
    await Deno.writeFile(join(root, path), data, { mode });
    await Deno.chmod(join(root, path), mode);
    files++;
    bytes += data.length;
  };
  for (let i = 0; i < spec.smallFiles; i++) {
    const dir = `d${i % 7}/e${i % 13}${i % 3 === 0 ? `/f${i % 5}` : ""}`;
    const size = (i * 7919 + spec.seed) % (spec.maxSmallBytes + 1);
    const data = new Uint8Array(size);
    fillPseudoRandom(data, spec.seed * 1_000_003 + i);
    await write(`${dir}/file-${i}.dat`, data);
  }
  await write("empty.txt", new Uint8Array());
  await write("d0/also empty", new Uint8Array());
  await write("bin/run me.sh", new TextEncoder().encode("#!/bin/sh\necho hello\n"), 0o755);
  await write("Ünïcödé/日本語 ファイル.txt", new TextEncoder().encode("こんにちは\n"));
  await write("spaces in name/a  b.txt", new TextEncoder().encode("two spaces\n"));
  await Deno.mkdir(join(root, "empty dir"), { recursive: true });
  await Deno.symlink("../empty.txt", join(root, "bin/link to empty"));
  for (const [i, size] of spec.largeFiles.entries()) {
    const data = new Uint8Array(size);
    fillPseudoRandom(data, spec.seed + 77 + i);
    await write(`large/large-${i}.bin`, data);
  }
  return { files, bytes };
}

if (import.meta.main) {
  const [root, smallFiles = "2000", large = "67108864"] = Deno.args;
  if (!root) throw new Error("usage: gen_tree.ts DIR [SMALL_FILES] [LARGE_BYTES,...]");
  await Deno.mkdir(root, { recursive: true });
  const summary = await generateTree(root, {
    smallFiles: Number(smallFiles),
    maxSmallBytes: 16 * 1024,
    largeFiles: large ? large.split(",").map(Number) : [],
    seed: 1,
  });
  // deno-lint-ignore no-console -- a command-line tool's report
  console.log(`${summary.files} files, ${summary.bytes} bytes in ${root}`);
}
