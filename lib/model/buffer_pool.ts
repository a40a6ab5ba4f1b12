import { MAX_BLOCK_SIZE } from "./file_info.ts";

/** How a {@linkcode BufferPool} sizes and keeps its buffers. */
export interface BufferPoolOptions {
  /** The size of every pooled buffer: the longest length taken from the pool. */
  readonly bufferBytes: number;
  /** The shortest length taken from the pool; shorter ones get a fresh buffer. */
  readonly minBytes: number;
  /** Buffers given back that are kept for reuse, at most; more are left to the garbage collector. */
  readonly keep: number;
}

/**
 * Large buffers used again instead of left to the garbage collector, which collects memory
 * outside V8's heap (ArrayBuffers) only once tens of MiB of it have accumulated.
 *
 * The rule that keeps bytes right: a buffer taken is given back exactly once, by its last
 * user, once nothing reads or writes it any more (its write to a file or a socket has
 * completed). A buffer never given back is simply collected, so a path that cannot tell
 * when its bytes are done leaves them to the collector. A pooled buffer holds the bytes of
 * its previous use until overwritten: a taker fills the whole view before reading it.
 */
export class BufferPool {
  readonly #options: BufferPoolOptions;
  readonly #free: ArrayBuffer[] = [];
  /** Buffers handed out and not given back since: only those are taken back. */
  readonly #out = new WeakSet<ArrayBuffer>();

  constructor(options: BufferPoolOptions) {
    this.#options = options;
  }

  /**
   * A view of `length` bytes: over a pooled buffer (contents undefined) when the length is
   * within the pool's range, else a fresh zeroed buffer of its own.
   */
  take(length: number): Uint8Array {
    const { bufferBytes, minBytes } = this.#options;
    if (length < minBytes || length > bufferBytes) return new Uint8Array(length);
    const buffer = this.#free.pop() ?? new ArrayBuffer(bufferBytes);
    this.#out.add(buffer);
    return new Uint8Array(buffer, 0, length);
  }

  /**
   * Takes back the buffer under `bytes` (any view of it) when the pool handed it out and it
   * was not given back since; anything else is ignored.
   */
  give(bytes: Uint8Array): void {
    const buffer = bytes.buffer as ArrayBuffer;
    if (!this.#out.delete(buffer)) return;
    if (this.#free.length < this.#options.keep) this.#free.push(buffer);
  }

  /** Buffers kept for reuse now. */
  get kept(): number {
    return this.#free.length;
  }
}

/**
 * The process's pool for block data: a span of blocks over 64 KiB read to be served, or
 * received in a frame (up to MAX_BLOCK_SIZE and the frame's headers); smaller ones are not
 * pooled. It keeps up to 16 MiB, about what a pull holds fetched and not yet written.
 */
export const blockBuffers: BufferPool = new BufferPool({
  bufferBytes: MAX_BLOCK_SIZE + 1024,
  minBytes: (64 << 10) + 1,
  keep: 16,
});
