import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { FileSync } from "../../lib/gen/filesync_pb.ts";
import type { TlsIdentity } from "../../lib/net/mod.ts";

let fill = new Uint8Array(0);
/** `bytes` bytes of a message body, shared by every stream (so a flood costs its sender no memory). */
function filler(bytes: number): Uint8Array {
  if (fill.length < bytes) fill = new Uint8Array(bytes).fill(0x41);
  return fill.subarray(0, bytes);
}

/** A hand-made client that never proves a trusted identity (to play a flood). */
export interface Stranger {
  /** Resolves when the other end closed the connection. */
  readonly closed: Promise<void>;
  /** Whether the other end closed the connection. */
  readonly isClosed: boolean;
  /** Ends the connection at the TCP level. */
  close(): void;
}

/** How a stranger behaves once connected. */
export interface StrangerOptions {
  /** Session streams to open (default none: HTTP/2 only). */
  readonly streams?: number;
  /** Bytes of an unfinished message of `declared` bytes to send on each stream. */
  readonly bytesPerStream?: number;
  /** Resets each stream before opening the next (a compliant client opens one at a time). */
  readonly resetEach?: boolean;
  /** How often to send an HTTP/2 ping (default every 200 ms). */
  readonly pingMs?: number;
}

/**
 * Connects to `port` on 127.0.0.1 with TLS 1.3 and HTTP/2 under `identity` (any
 * certificate), answers and sends pings, and optionally opens Session streams that send
 * part of a message declared as 4 MiB. Resolves once HTTP/2 is up.
 */
export async function connectStranger(
  port: number,
  identity: TlsIdentity,
  options: StrangerOptions = {},
): Promise<Stranger> {
  let socket!: tls.TLSSocket;
  const session = http2.connect(`https://127.0.0.1:${port}`, {
    createConnection: () =>
      socket = tls.connect({
        host: "127.0.0.1",
        port,
        key: identity.keyPem,
        cert: identity.certPem,
        servername: "fsync",
        rejectUnauthorized: false,
        ALPNProtocols: ["h2"],
        minVersion: "TLSv1.3",
      }),
  });
  let isClosed = false;
  const closed = new Promise<void>((resolve) => {
    const done = () => {
      isClosed = true;
      clearInterval(pings);
      resolve();
    };
    session.once("close", done);
    socket.once("close", done);
  });
  session.on("error", () => {}); // a closed connection is the expected outcome
  const pings = setInterval(() => {
    if (!session.destroyed) session.ping(() => {});
  }, options.pingMs ?? 200);
  await new Promise<void>((resolve) => {
    session.once("connect", () => resolve());
    closed.then(resolve);
  });
  for (let i = 0; i < (options.streams ?? 0) && !isClosed; i++) {
    const stream = session.request({
      ":method": "POST",
      ":path": `/${FileSync.typeName}/Session`,
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => {});
    const bytes = options.bytesPerStream ?? 0;
    if (bytes > 0) {
      const header = new Uint8Array(5);
      new DataView(header.buffer).setUint32(1, 4 << 20); // not compressed, 4 MiB declared
      stream.write(header);
      stream.write(filler(bytes));
    }
    if (options.resetEach) {
      await new Promise((r) => setTimeout(r, 50)); // the headers reach the server first
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }
  }
  return {
    closed,
    get isClosed() {
      return isClosed;
    },
    close() {
      clearInterval(pings);
      socket.destroy();
      session.destroy();
    },
  };
}

/** A plain TCP connection to `port` that sends nothing; resolves `closed` when the other end closes. */
export async function connectRawTcp(port: number): Promise<Stranger> {
  const socket = net.connect({ host: "127.0.0.1", port });
  let isClosed = false;
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  closed.then(() => isClosed = true);
  socket.on("error", () => {});
  await new Promise<void>((resolve) => {
    socket.once("connect", () => resolve());
    closed.then(resolve);
  });
  return {
    closed,
    get isClosed() {
      return isClosed;
    },
    close: () => socket.destroy(),
  };
}
