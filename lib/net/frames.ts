import type { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { writeAll } from "../fs/mod.ts";
import { blockBuffers } from "../model/mod.ts";
import { PeerUnreachableError, ProtocolError } from "./errors.ts";

/**
 * Length-prefixed frames for data connections (data_path.ts): a 4-byte big-endian length,
 * then that many bytes. The dialling end reads and writes a `Deno.Conn` (native TLS), the
 * listening end a node stream (its TLS socket): {@linkcode connFrames}, {@linkcode streamFrames}.
 */
export interface FrameChannel {
  /**
   * Queues one frame made of `parts`, written in order without copying large ones. Returns a
   * promise only when over HIGH_WATER bytes are queued: it settles once they drain below.
   * Rejects (or throws) once the connection failed. `written` is called once every part has
   * been written to the connection (never if it fails first): the parts may then be reused.
   */
  write(parts: readonly Uint8Array[], written?: () => void): Promise<void> | undefined;
  /**
   * The peer's frames, for a single reader at a time; ends at a clean end of stream. A frame
   * over 64 KiB is taken from `blockBuffers`: its reader may give it back once done with it.
   */
  frames(): AsyncIterable<Uint8Array>;
  /** Closes the connection: the frames end, writes reject. */
  close(): void;
}

/** Bytes queued for writing before a writer is asked to wait. */
const HIGH_WATER = 4 << 20;
/** Frames up to this size are copied out of the read slab; larger ones are read into a buffer of their own. */
const SMALL = 64 << 10;
const SLAB = 1 << 20;
/** Consecutive small chunks are joined into one write (one op, one syscall, one TLS record) up to this. */
const BATCH = 256 << 10;
/** Received frames a stream end holds for its reader before it stops reading the socket. */
const READ_HIGH_WATER = 8 << 20;

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

/** A node stream write callback that calls `done` once the chunk was written, and never after an error. */
function writtenThen(done: () => void): (error?: Error | null) => void {
  return (error) => {
    if (!error) done();
  };
}

function tooLong(length: number, max: number): ProtocolError {
  return new ProtocolError(`a frame of ${length} bytes is over the limit of ${max}`);
}

/**
 * Frames over a `Deno.Conn`. Reads fill one 1 MiB slab, reused for the connection's life: a
 * small frame is copied out of it, so no frame a reader keeps holds the slab; a large one is
 * read straight into a buffer of its own, from `blockBuffers`. A write pump, started on the
 * next microtask, joins the small frames queued meanwhile into one write, in a batch buffer
 * it reuses once that write completed.
 */
export function connFrames(conn: Deno.Conn, maxFrame: number): FrameChannel {
  /** A read; a reset or a TLS end without close_notify (UnexpectedEof) is a lost connection. */
  const read = (into: Uint8Array) =>
    conn.read(into).catch((e: Error) => {
      throw new PeerUnreachableError(`data connection lost: ${e.message}`, { cause: e });
    });
  /** Bytes read and not yet cut into frames are `slab[start, end)`; no frame is a view of it. */
  const slab = new Uint8Array(SLAB);
  let start = 0;
  let end = 0;
  const fill = async (need: number): Promise<boolean> => {
    if (SLAB - end < Math.max(need, 16 << 10)) {
      slab.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
    const n = await read(slab.subarray(end));
    if (n === null) return false;
    end += n;
    return true;
  };
  /** Small chunks are joined here (BATCH, and the last chunk may cross it); reused once written. */
  const batch = new Uint8Array(BATCH + SMALL);
  /** Chunks to write; a frame's last one carries its `written` callback. */
  const queue: { bytes: Uint8Array; written?: () => void }[] = [];
  let queued = 0;
  let pumping = false;
  let failure: Error | undefined;
  let drained: PromiseWithResolvers<void> | undefined;
  const dequeued = (bytes: number) => {
    queued -= bytes;
    if (drained && queued < HIGH_WATER) {
      drained.resolve();
      drained = undefined;
    }
  };
  const pump = async () => {
    try {
      while (queue.length > 0) {
        let count = 0;
        let bytes = 0;
        while (count < queue.length && queue[count].bytes.length <= SMALL && bytes < BATCH) {
          bytes += queue[count++].bytes.length;
        }
        if (count === 0) {
          const large = queue.shift()!;
          await writeAll(conn, large.bytes);
          dequeued(large.bytes.length);
          large.written?.();
          continue;
        }
        const chunks = queue.splice(0, count);
        const out = count === 1 ? chunks[0].bytes : batch.subarray(0, bytes);
        if (count > 1) {
          let at = 0;
          for (const c of chunks) {
            out.set(c.bytes, at);
            at += c.bytes.length;
          }
        }
        await writeAll(conn, out);
        dequeued(bytes);
        for (const c of chunks) c.written?.();
      }
    } catch (e) {
      failure = new PeerUnreachableError(`data connection lost: ${(e as Error).message}`, { cause: e });
      drained?.reject(failure);
      drained = undefined;
      channel.close(); // the reader ends too, and with it the session
    } finally {
      pumping = false;
    }
  };
  const channel: FrameChannel = {
    write(parts, written) {
      if (failure) return Promise.reject(failure);
      const length = parts.reduce((n, p) => n + p.length, 0);
      queue.push({ bytes: header(length) }, ...parts.map((bytes) => ({ bytes })));
      queue[queue.length - 1].written = written;
      queued += 4 + length;
      if (!pumping) {
        pumping = true;
        queueMicrotask(() => void pump());
      }
      if (queued < HIGH_WATER) return undefined;
      drained ??= Promise.withResolvers<void>();
      return drained.promise;
    },
    async *frames() {
      while (true) {
        while (end - start < 4) {
          if (await fill(4)) continue;
          if (end === start) return;
          throw new PeerUnreachableError("data connection ended inside a frame");
        }
        const length = new DataView(slab.buffer, slab.byteOffset + start, 4).getUint32(0);
        if (length > maxFrame) throw tooLong(length, maxFrame);
        start += 4;
        if (length <= SMALL) {
          while (end - start < length) {
            if (!await fill(length - (end - start))) throw new PeerUnreachableError("data connection ended in a frame");
          }
          start += length;
          yield slab.slice(start - length, start);
          continue;
        }
        const frame = blockBuffers.take(length);
        const have = Math.min(length, end - start);
        frame.set(slab.subarray(start, start + have));
        start += have;
        for (let filled = have; filled < length;) {
          const n = await read(frame.subarray(filled));
          if (n === null) throw new PeerUnreachableError("data connection ended in a frame");
          filled += n;
        }
        yield frame;
      }
    },
    close() {
      try {
        conn.close();
      } catch {
        // closed already
      }
    },
  };
  return channel;
}

/** Frames over a node stream, whose reading waits for {@linkcode GatedFrames.admit} after the first. */
export interface GatedFrames extends FrameChannel {
  /** Lets the frames after the first be read, each up to `maxFrame` bytes. */
  admit(maxFrame: number): void;
}

/**
 * Frames over a node stream (the listener's end of a data connection). Only the first frame
 * is read, up to `firstFrameMax` bytes, until {@linkcode GatedFrames.admit}: what follows it
 * stays raw, and no frame of a stranger is ever allocated beyond the first. Incoming bytes are
 * cut into frames as they arrive (a frame's buffer is taken, from `blockBuffers` when large,
 * once its length passed the check); reading pauses while over READ_HIGH_WATER bytes of
 * frames wait for the reader.
 * Writes queued before the next microtask go out together (the stream is corked until then).
 */
export function streamFrames(stream: Duplex, firstFrameMax: number): GatedFrames {
  const ready: Uint8Array[] = [];
  let readyBytes = 0;
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: Error | undefined;
  /** Bytes received and not yet cut into frames. */
  const raw: Uint8Array[] = [];
  let maxFrame = firstFrameMax;
  let admitted = false;
  let framesCut = 0;
  const head = new Uint8Array(4);
  let headFilled = 0;
  let current: Uint8Array | undefined;
  let filled = 0;
  let corked = false;
  let drained: Promise<void> | undefined;
  const push = (frame: Uint8Array) => {
    ready.push(frame);
    readyBytes += frame.length;
    framesCut++;
  };
  /** Cuts the raw bytes into frames while the gate allows. */
  const cut = () => {
    while (raw.length > 0 && !failure && (admitted || framesCut === 0)) {
      const chunk = raw[0];
      let at = 0;
      while (at < chunk.length && !failure && (admitted || framesCut === 0)) {
        if (current) {
          const take = Math.min(current.length - filled, chunk.length - at);
          current.set(chunk.subarray(at, at + take), filled);
          filled += take;
          at += take;
          if (filled === current.length) {
            push(current);
            current = undefined;
          }
          continue;
        }
        const take = Math.min(4 - headFilled, chunk.length - at);
        head.set(chunk.subarray(at, at + take), headFilled);
        headFilled += take;
        at += take;
        if (headFilled < 4) break;
        headFilled = 0;
        const length = new DataView(head.buffer).getUint32(0);
        if (length > maxFrame) {
          failure = tooLong(length, maxFrame);
          stream.destroy();
          break;
        }
        current = blockBuffers.take(length);
        filled = 0;
        if (length === 0) {
          push(current);
          current = undefined;
        }
      }
      if (at < chunk.length) raw[0] = chunk.subarray(at);
      else raw.shift();
      if (failure || !(admitted || framesCut === 0)) break;
    }
    if (readyBytes >= READ_HIGH_WATER) stream.pause();
    wake?.();
  };
  stream.on("data", (chunk: Buffer) => {
    raw.push(chunk);
    cut();
  });
  const finish = () => {
    ended = true;
    wake?.();
  };
  stream.on("end", finish).on("close", finish);
  stream.on("error", (e: Error) => {
    failure ??= new PeerUnreachableError(`data connection lost: ${e.message}`, { cause: e });
    wake?.();
  });
  return {
    admit(limit) {
      admitted = true;
      maxFrame = limit;
      cut();
    },
    write(parts, written) {
      if (failure) return Promise.reject(failure);
      if (stream.destroyed) return Promise.reject(new PeerUnreachableError("data connection closed"));
      if (!corked) {
        corked = true;
        stream.cork();
        queueMicrotask(() => {
          corked = false;
          stream.uncork();
        });
      }
      const last = parts.length - 1;
      const then = written && writtenThen(written);
      stream.write(header(parts.reduce((n, p) => n + p.length, 0)), last < 0 ? then : undefined);
      parts.forEach((part, i) => stream.write(part, i === last ? then : undefined));
      if (stream.writableLength < HIGH_WATER) return undefined;
      return drained ??= new Promise<void>((resolve, reject) => {
        const settle = (e?: Error) => {
          stream.off("drain", settle).off("close", settle);
          drained = undefined;
          if (e || stream.destroyed) reject(failure ?? new PeerUnreachableError("data connection closed"));
          else resolve();
        };
        stream.on("drain", settle).on("close", settle);
      });
    },
    async *frames() {
      while (true) {
        const frame = ready.shift();
        if (frame) {
          readyBytes -= frame.length;
          if (readyBytes < READ_HIGH_WATER && stream.isPaused()) stream.resume();
          yield frame;
          continue;
        }
        if (failure) throw failure;
        if (ended) {
          if (current || headFilled > 0 || raw.length > 0) {
            throw new PeerUnreachableError("data connection ended inside a frame");
          }
          return;
        }
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
    },
    close() {
      stream.destroy();
    },
  };
}
