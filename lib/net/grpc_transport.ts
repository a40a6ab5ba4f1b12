import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { type Envelope, EnvelopeSchema, FileSync } from "../gen/filesync_pb.ts";
import { ExitCode, FsyncError } from "../model/mod.ts";
import { formatHostPort, type HostPort } from "./address.ts";
import type { Connection } from "./connection.ts";
import { fromWire, toWire } from "./convert.ts";
import { PeerUnreachableError, PortInUseError } from "./errors.ts";
import { MAX_MESSAGE_BYTES, type Message } from "./messages.ts";

/** HTTP/2 flow-control window: the 64 KiB default halves throughput (DENO-FACTS §1). */
const FLOW_CONTROL_WINDOW = 8 << 20;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW,
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  "grpc.keepalive_time_ms": 20_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
};

function serialize(message: Envelope): Buffer {
  const bytes = toBinary(EnvelopeSchema, message);
  // grpc-js needs a Buffer; a view avoids copying the block payloads (DENO-FACTS §1).
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function deserialize(bytes: Buffer): Envelope {
  // A plain Uint8Array view: protobuf-es returns bytes fields as subarrays of its input, and
  // a Buffer's slice() would not copy them (convert.ts copies what it keeps).
  return fromBinary(EnvelopeSchema, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/**
 * Channel credentials for plain TCP that remember the sockets grpc-js opens, so a session
 * can be ended by closing its socket. Deno 2.9.6 can crash inside nghttp2 when an HTTP/2
 * GOAWAY is received (denoland/deno#36788, reproduced here: the sharer died with SIGSEGV or
 * an nghttp2 assertion when a joiner closed its channel), so fsync never sends one: it ends
 * connections at the TCP level on both sides.
 */
class SocketTrackingCredentials extends grpc.ChannelCredentials {
  readonly sockets = new Set<net.Socket>();

  _isSecure(): boolean {
    return false;
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(): ReturnType<grpc.ChannelCredentials["_createSecureConnector"]> {
    const callCredentials = grpc.CallCredentials.createEmpty();
    return {
      connect: (socket: net.Socket) => {
        this.sockets.add(socket);
        socket.once("close", () => this.sockets.delete(socket));
        return Promise.resolve({ socket, secure: false });
      },
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => callCredentials,
      destroy: () => {},
    };
  }
}

/** Ends a TCP connection without an HTTP/2 GOAWAY: FIN after pending writes, then reset. */
function endSocket(socket: net.Socket): void {
  socket.end();
  setTimeout(() => socket.destroy(), 200).unref?.();
}

/** The grpc-js service definition of FileSync, built from the generated descriptor. */
export const fileSyncDefinition: grpc.ServiceDefinition = Object.fromEntries(
  FileSync.methods.map((m) => [m.localName, {
    path: `/${FileSync.typeName}/${m.name}`,
    requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
    responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
    originalName: m.name,
  }]),
);

/** A listening FileSync server. */
export interface Listener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting, closes every session, and releases the port. */
  close(): Promise<void>;
}

/**
 * Listens for peers on `address` and hands every new Session to `onConnection`.
 * The TCP listener is fsync's own and gRPC runs over the sockets it accepts, so errors are
 * exact (port in use) and TLS can be put in front of gRPC.
 *
 * @throws {PortInUseError} when the port is taken.
 */
export async function listen(address: HostPort, onConnection: (connection: Connection) => void): Promise<Listener> {
  const server = new grpc.Server(CHANNEL_OPTIONS);
  const sockets = new Map<string, net.Socket>();
  server.addService(fileSyncDefinition, {
    session(call: grpc.ServerDuplexStream<Envelope, Envelope>) {
      const peer = call.getPeer();
      onConnection(duplexConnection(call as unknown as Duplex, peer, () => {
        const socket = sockets.get(peer);
        if (socket) endSocket(socket);
        else call.end();
      }));
    },
  });
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const tcp = net.createServer((socket) => {
    const peer = formatHostPort({ host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 });
    sockets.set(peer, socket);
    socket.once("close", () => sockets.delete(peer));
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(address.port, address.host, () => {
      tcp.off("error", reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    const where = formatHostPort(address);
    if (e.code === "EADDRINUSE") {
      throw new PortInUseError(`cannot listen on ${where}: port ${address.port} is in use`, {
        cause: e,
        hint: "stop the other program or pick another port with --listen HOST:PORT",
      });
    }
    throw new FsyncError(`cannot listen on ${where}: ${e.code ?? e.message}`, ExitCode.unavailable, { cause: e });
  });
  return {
    port: (tcp.address() as net.AddressInfo).port,
    async close() {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const socket of sockets.values()) socket.destroy();
      injector.destroy();
      server.forceShutdown();
      await closed;
    },
  };
}

/**
 * Connects to a peer and opens a Session.
 *
 * @throws {PeerUnreachableError} naming the cause (refused, not found, timed out).
 */
export async function dial(address: HostPort, timeoutMs = 10_000): Promise<Connection> {
  const target = formatHostPort(address);
  // A plain TCP attempt first: it fails at once with the real reason, where grpc-js would
  // retry quietly until the deadline.
  const refused = await probeTcp(address, Math.min(timeoutMs, 5000));
  if (refused) {
    throw new PeerUnreachableError(`cannot reach peer ${target}: ${refused}`, {
      hint: `is "fsync share" running there?`,
    });
  }
  const Client = grpc.makeGenericClientConstructor(fileSyncDefinition, "FileSync");
  const credentials = new SocketTrackingCredentials();
  const client = new Client(target, credentials, CHANNEL_OPTIONS);
  try {
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + timeoutMs, (e) => e ? reject(e) : resolve())
    );
  } catch (e) {
    client.close();
    throw new PeerUnreachableError(`cannot reach peer ${target}: it does not answer as an fsync peer`, {
      cause: e,
      hint: `is "fsync share" running there?`,
    });
  }
  const call = (client as unknown as { session(): grpc.ClientDuplexStream<Envelope, Envelope> }).session();
  return duplexConnection(call as unknown as Duplex, target, () => {
    for (const socket of credentials.sockets) endSocket(socket);
    setTimeout(() => client.close(), 300).unref?.();
  });
}

/** Why a plain TCP connection to `address` fails, or undefined when it connects. */
function probeTcp(address: HostPort, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(`no answer within ${timeoutMs} ms`);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      const words: Record<string, string> = {
        ECONNREFUSED: "connection refused",
        ENOTFOUND: "host not found",
        EAI_AGAIN: "host not found",
        EHOSTUNREACH: "host unreachable",
        ENETUNREACH: "network unreachable",
      };
      resolve(words[e.code ?? ""] ?? e.code ?? e.message);
    });
  });
}

/** Adapts a gRPC duplex stream of Envelopes to a {@linkcode Connection}. */
function duplexConnection(stream: Duplex, remoteAddress: string, end: () => void): Connection {
  let closed = false;
  const failure = new Promise<never>((_, reject) => {
    const fail = () => reject(new PeerUnreachableError(`connection to ${remoteAddress} closed`));
    stream.once("close", fail);
    stream.once("error", fail);
  });
  failure.catch(() => closed = true);
  // grpc-js reports a peer that hangs up as an error on the stream; the iterator below
  // surfaces it, and a listener keeps it from being an unhandled 'error' event.
  stream.on("error", () => closed = true);
  return {
    remoteAddress,
    async send(message: Message): Promise<void> {
      if (closed) throw new PeerUnreachableError(`connection to ${remoteAddress} closed`);
      if (!stream.write(toWire(message))) {
        await Promise.race([new Promise((resolve) => stream.once("drain", resolve)), failure]);
      }
    },
    async *messages(): AsyncGenerator<Message> {
      try {
        for await (const envelope of stream) yield fromWire(envelope as Envelope);
      } catch (e) {
        if (e instanceof FsyncError) throw e;
        const status = (e as { code?: number }).code;
        if (status === grpc.status.CANCELLED && closed) return;
        throw new PeerUnreachableError(`connection to ${remoteAddress} lost: ${(e as Error).message}`, { cause: e });
      } finally {
        closed = true;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      end();
    },
  };
}
