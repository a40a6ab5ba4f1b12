import assert from "node:assert/strict";
import * as net from "node:net";
import { blockBuffers, MAX_BLOCK_SIZE } from "../model/mod.ts";
import { connFrames, type FrameChannel, streamFrames } from "./frames.ts";
import { MAX_MESSAGE_BYTES } from "./messages.ts";

/** A frame's second part: its bytes tell the frame's number and their own offset. */
function payload(frame: number, size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (frame * 31 + i * 7 + (i >> 12)) & 0xff);
}

/** Sizes of the frames sent: small ones joined into one write, a 64 KiB one, and 1 MiB ones. */
const SIZES = [100, 1 << 20, 3, 64 << 10, 1 << 20, 5_000, 1 << 20, 1 << 20, 700, 1 << 20, 60_000, 50_000, 40_000];

/** A connected pair on 127.0.0.1: the dialler's end (native Deno conn) and the listener's (node socket). */
async function framePair(): Promise<{ dialler: FrameChannel; listener: FrameChannel; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: (server.address() as net.AddressInfo).port });
  const socket = await accepted;
  const listener = streamFrames(socket, MAX_MESSAGE_BYTES);
  listener.admit(MAX_MESSAGE_BYTES);
  return {
    dialler: connFrames(conn, MAX_MESSAGE_BYTES),
    listener,
    async close() {
      conn.close();
      socket.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Sends SIZES.length × rounds frames from `from` to `to`; each frame's `written` overwrites its
 * payload at once, as a buffer handed to its next user would be. Returns how many were called.
 */
async function sendOverwritingWhenWritten(from: FrameChannel, to: FrameChannel, rounds: number): Promise<number> {
  let called = 0;
  const count = SIZES.length * rounds;
  const received = (async () => {
    let n = 0;
    /** Small frames are checked once all have arrived: later reads must not change them. */
    const kept: [number, Uint8Array][] = [];
    for await (const frame of to.frames()) {
      const size = SIZES[n % SIZES.length];
      assert.equal(frame.length, 8 + size);
      if (size > 64 << 10) {
        assert.deepEqual(frame.subarray(8), payload(n, size), `frame ${n} arrived as sent`);
        assert.equal(frame.buffer.byteLength, MAX_BLOCK_SIZE + 1024, "a large frame is pooled");
        blockBuffers.give(frame);
      } else kept.push([n, frame]);
      if (++n === count) break;
    }
    for (const [k, frame] of kept) {
      assert.deepEqual(frame.subarray(8), payload(k, SIZES[k % SIZES.length]), `frame ${k}`);
    }
    return n;
  })();
  for (let n = 0; n < count; n++) {
    const data = payload(n, SIZES[n % SIZES.length]);
    await from.write([new Uint8Array(8).fill(n & 0xff), data], () => {
      called++;
      data.fill(0xee);
    });
  }
  assert.equal(await received, count);
  // The last callbacks may run just after the peer has the bytes.
  for (const started = Date.now(); called < count && Date.now() - started < 5_000;) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return called;
}

Deno.test("frames: parts reused once `written` still arrive intact, and a frame received stays so while more arrive, at both ends", async (t) => {
  const p = await framePair();
  try {
    await t.step("the dialler's end (Deno conn, write pump)", async () => {
      assert.equal(await sendOverwritingWhenWritten(p.dialler, p.listener, 4), SIZES.length * 4);
    });
    await t.step("the listener's end (node stream)", async () => {
      assert.equal(await sendOverwritingWhenWritten(p.listener, p.dialler, 4), SIZES.length * 4);
    });
  } finally {
    await p.close();
  }
});
