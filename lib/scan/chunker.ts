import { createHash } from "node:crypto";
import { MAX_BLOCK_SIZE } from "../model/mod.ts";
import { GEAR_WASM } from "./gear_wasm.ts";

/**
 * The sizes of a file's content-defined blocks: every block but the last is at least `min`
 * and at most `max` bytes; boundaries come about every `average` bytes.
 */
export interface ChunkSizes {
  readonly min: number;
  readonly average: number;
  readonly max: number;
}

/** The smallest average, for files up to 256 MiB. */
const MIN_AVERAGE = 64 * 1024;
/** The largest average: the maximum, four times it, is the block limit (1 MiB). */
const MAX_AVERAGE = 256 * 1024;
/** Blocks a file's average aims to keep it under (doubling it while the file has more). */
const TARGET_MAX_BLOCKS = 4096;
/**
 * Beyond this many blocks of the largest average (16 GiB) a file takes fixed 1 MiB blocks: its
 * block list must fit one 4 MiB message (36 bytes a block), and no content-defined block may
 * exceed 1 MiB.
 */
const MAX_CONTENT_DEFINED_BLOCKS = 65536;

/**
 * Block sizes for a file of `size` bytes. The average grows with the file (64 KiB up to 256
 * MiB, doubling, 256 KiB from 512 MiB); the minimum is half of it (a file up to the minimum
 * is one block, and no boundary is looked for closer than that to the last), the maximum four
 * times it. Files over 16 GiB take fixed 1 MiB blocks (minimum, average and maximum alike).
 * Every device must choose the same sizes (a protocol version names them): the block list,
 * and so the content hash, of the same bytes must be the same everywhere.
 *
 * Chosen by measurement (a 64 MiB random file, 12 edit positions; bytes of new blocks):
 * 1,000,000 bytes inserted cost 1.13 MB on average (at most 1.26), deleted 0.13 MB (0.26),
 * and blocks are 86 KiB on average. A 128 KiB average: 1.23 (1.47) and 0.25 (0.51).
 * FastCDC's normalization level 2 instead of 1: 1.20 (1.63) and 0.13 (0.24), as a cut's
 * mask then depends more on where its block started, and blocks fall into step with the
 * original later. A minimum of a quarter: the same bytes, 78 KiB blocks, and a third more
 * bytes to search for boundaries.
 *
 * @example
 * ```ts
 * import { chunkSizesFor } from "./chunker.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(chunkSizesFor(200 * 2 ** 20), { min: 32768, average: 65536, max: 262144 });
 * assert.deepEqual(chunkSizesFor(4 * 2 ** 30), { min: 131072, average: 262144, max: 1048576 });
 * ```
 */
export function chunkSizesFor(size: number): ChunkSizes {
  if (size > MAX_AVERAGE * MAX_CONTENT_DEFINED_BLOCKS) {
    return { min: MAX_BLOCK_SIZE, average: MAX_BLOCK_SIZE, max: MAX_BLOCK_SIZE };
  }
  let average = MIN_AVERAGE;
  while (average < MAX_AVERAGE && size > average * TARGET_MAX_BLOCKS) average *= 2;
  return { min: average / 2, average, max: average * 4 };
}

let gear: Int32Array | undefined;

/**
 * The gear table: 256 pseudo-random 32-bit values, the first four bytes (little-endian) of
 * SHA-256("fsync gear {i}"). Part of the protocol, like the sizes. Made on first use, not
 * when a command starts.
 */
export function gearTable(): Int32Array {
  if (!gear) {
    gear = new Int32Array(256);
    for (let i = 0; i < 256; i++) gear[i] = createHash("sha256").update(`fsync gear ${i}`).digest().readInt32LE(0);
  }
  return gear;
}

/**
 * The masks of normalized chunking (FastCDC, level 1): below the average a boundary needs the
 * top log2(average) + 1 bits of the hash to be zero, from the average on log2(average) - 1
 * bits; block sizes crowd around the average. The top bits depend on the last 32 bytes; the
 * low ones on fewer.
 */
export function gearMasks(average: number): { strict: number; loose: number } {
  const bits = Math.log2(average);
  const top = (n: number) => ((2 ** n - 1) * 2 ** (32 - n)) | 0;
  return { strict: top(bits + 1), loose: top(bits - 1) };
}

/** Address of the data window in the module's memory (the gear table comes first). */
const WINDOW_AT = 1024;
/** Bytes of a file a chunker holds at once: two of the largest blocks (a search needs one ahead). */
const WINDOW_BYTES = 2 * MAX_BLOCK_SIZE;
/** Idle chunkers kept for reuse (each holds a window; scans hash one file at a time). */
const KEPT_IDLE = 1;

type GearCut = (from: number, normalEnd: number, end: number, strict: number, loose: number) => number;

let compiled: WebAssembly.Module | undefined;
const idle: Chunker[] = [];

/**
 * Finds content-defined block boundaries in a window of a file's bytes, with the gear hash of
 * gear.wat. Taken from a pool with {@linkcode Chunker.take}, given back by `using`.
 */
export class Chunker {
  /** Where the caller puts the file's bytes: boundaries are found in it. */
  readonly window: Uint8Array;
  #cut: GearCut;

  private constructor() {
    compiled ??= new WebAssembly.Module(GEAR_WASM);
    const instance = new WebAssembly.Instance(compiled);
    const memory = instance.exports.memory as WebAssembly.Memory;
    memory.grow(Math.ceil((WINDOW_AT + WINDOW_BYTES) / 65536) - memory.buffer.byteLength / 65536);
    new Int32Array(memory.buffer, 0, 256).set(gearTable());
    this.window = new Uint8Array(memory.buffer, WINDOW_AT, WINDOW_BYTES);
    this.#cut = instance.exports.cut as GearCut;
  }

  /** An idle chunker, or a new one. */
  static take(): Chunker {
    return idle.pop() ?? new Chunker();
  }

  /**
   * The end (an index into the window) of the block that starts at `start`, given the
   * `available` bytes of the file from there in the window. Unless `final` (they are the rest
   * of the file), `available` must be at least `sizes.max`, so the boundary depends on the
   * bytes alone, not on how they were read.
   */
  blockEnd(start: number, available: number, sizes: ChunkSizes, final: boolean): number {
    if (!final && available < sizes.max) throw new RangeError(`${available} bytes are too few to find a boundary`);
    if (available <= sizes.min) return start + available;
    const length = Math.min(available, sizes.max);
    const { strict, loose } = gearMasks(sizes.average);
    const from = WINDOW_AT + start;
    return this.#cut(from + sizes.min, from + Math.min(sizes.average, length), from + length, strict, loose) -
      WINDOW_AT;
  }

  [Symbol.dispose](): void {
    if (idle.length < KEPT_IDLE) idle.push(this);
  }
}
