import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { type Envelope, EnvelopeSchema, FileSync } from "../gen/filesync_pb.ts";
import { equalBytes, ExitCode, formatDeviceId, FsyncError } from "../model/mod.ts";
import { formatHostPort, type HostPort } from "./address.ts";
import type { Connection, PeerCertificate } from "./connection.ts";
import { fromWire, toWire } from "./convert.ts";
import { PeerUnreachableError, PortInUseError, UntrustedPeerError } from "./errors.ts";
import { type ConnectionRole, deviceIdOf } from "./identity.ts";
import { MAX_MESSAGE_BYTES, type Message } from "./messages.ts";

/** The key and certificate a device presents on every connection. */
export interface TlsIdentity {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * The TLS server name: Deno refuses an IP address there (DENO-FACTS §1), and no name is
 * checked anyway: each side pins the other's certificate by its device ID.
 */
const SERVER_NAME = "fsync";
/** How long a TLS handshake may take before the socket is dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * Connections a listener holds at once; more are closed on arrival. Bounds what a flood of
 * connections can cost: a stranger's socket lives at most the handshake and Hello timeouts.
 */
export const MAX_CONNECTIONS = 256;

/** TLS 1.3 with both certificates required; trust is decided by device ID, never by a CA. */
function tlsOptions(identity: TlsIdentity): tls.SecureContextOptions & tls.CommonConnectionOptions {
  return {
    key: identity.keyPem,
    cert: identity.certPem,
    minVersion: "TLSv1.3",
    ALPNProtocols: ["h2"],
    rejectUnauthorized: false, // self-signed by design; the device ID pin replaces the CA check
  };
}

/** The certificate the other end of a TLS socket presented, or undefined. */
function peerCertificateOf(socket: tls.TLSSocket): PeerCertificate | undefined {
  const raw = socket.getPeerCertificate(true)?.raw;
  if (!raw || raw.length === 0) return undefined;
  const certificate = new Uint8Array(raw);
  return { certificate, deviceId: deviceIdOf(certificate) };
}

/**
 * The Finished messages of both ends, client's first: they hash the whole handshake
 * (both certificates, both key shares), so they are unique to this TLS connection.
 */
function channelBindingOf(socket: tls.TLSSocket, role: ConnectionRole): Uint8Array | undefined {
  const mine = socket.getFinished();
  const theirs = socket.getPeerFinished();
  if (!mine || !theirs) return undefined;
  const [first, second] = role === "client" ? [mine, theirs] : [theirs, mine];
  const out = new Uint8Array(first.length + second.length);
  out.set(first);
  out.set(second, first.length);
  return out;
}

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
 * Channel credentials that run TLS with this device's certificate and pin the server's
 * device ID (DENO-FACTS §1, S7: grpc-js's own credentials cannot pin an unknown
 * self-signed peer; this uses grpc-js's semi-internal connector API, so grpc-js is pinned
 * exactly in deno.json and covered by the end-to-end tests).
 *
 * They also remember the sockets, so a session can be ended by closing its socket. Deno
 * 2.9.6 can crash inside nghttp2 when an HTTP/2 GOAWAY is received (denoland/deno#36788,
 * reproduced here: the sharer died with SIGSEGV or an nghttp2 assertion when a joiner closed
 * its channel), so fsync never sends one: it ends connections at the TCP level on both sides.
 */
class PinnedTlsCredentials extends grpc.ChannelCredentials {
  readonly sockets = new Set<net.Socket>();
  /** The server as TLS saw it, once connected. */
  peer?: PeerCertificate & { channelBinding: Uint8Array };
  /** Why the last TLS attempt failed (grpc-js itself only reports a timeout). */
  failure?: Error;
  /** Rejects when the server is not the expected device: no retry can help. */
  readonly untrusted: Promise<never>;
  #reject!: (e: Error) => void;
  #identity: TlsIdentity;
  #expected?: Uint8Array;
  #target: string;

  constructor(identity: TlsIdentity, target: string, expected?: Uint8Array) {
    super();
    this.untrusted = new Promise<never>((_, reject) => this.#reject = reject);
    this.untrusted.catch(() => {}); // read by dial(); never an unhandled rejection
    this.#identity = identity;
    this.#target = target;
    this.#expected = expected;
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(): ReturnType<grpc.ChannelCredentials["_createSecureConnector"]> {
    const callCredentials = grpc.CallCredentials.createEmpty();
    return {
      connect: (socket: net.Socket) => this.#secure(socket),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => callCredentials,
      destroy: () => {},
    };
  }

  #secure(socket: net.Socket): Promise<{ socket: net.Socket; secure: boolean }> {
    return new Promise((resolve, reject) => {
      const secured = tls.connect({ ...tlsOptions(this.#identity), socket, servername: SERVER_NAME });
      const fail = (e: Error) => {
        this.failure = e;
        if (e instanceof UntrustedPeerError) this.#reject(e);
        secured.destroy();
        reject(e);
      };
      secured.once("error", (e) => fail(new PeerUnreachableError(`TLS with ${this.#target} failed: ${e.message}`)));
      secured.once("secureConnect", () => {
        const peer = peerCertificateOf(secured);
        const channelBinding = channelBindingOf(secured, "client");
        if (!peer || !channelBinding) return fail(new UntrustedPeerError(`${this.#target} presented no certificate`));
        if (this.#expected && !equalBytes(peer.deviceId, this.#expected)) {
          return fail(
            new UntrustedPeerError(
              `${this.#target} is device ${formatDeviceId(peer.deviceId)}, not the expected ` +
                formatDeviceId(this.#expected),
              { hint: "another device answers at this address: check the address, or get a new invite" },
            ),
          );
        }
        this.peer = { ...peer, channelBinding };
        this.sockets.add(secured);
        secured.once("close", () => this.sockets.delete(secured));
        resolve({ socket: secured, secure: true });
      });
    });
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
 * Listens for peers on `address` over mutual TLS and hands every new Session to
 * `onConnection`, with the certificate the peer presented. The TLS listener is fsync's own
 * and gRPC runs over the sockets it accepts (DENO-FACTS §1, S6), so errors are exact (port
 * in use), and a client without a certificate, or speaking anything but TLS 1.3, never
 * reaches gRPC. Whether the device is trusted is the caller's decision.
 *
 * @throws {PortInUseError} when the port is taken.
 */
export async function listen(
  address: HostPort,
  identity: TlsIdentity,
  onConnection: (connection: Connection) => void,
): Promise<Listener> {
  const server = new grpc.Server(CHANNEL_OPTIONS);
  const sockets = new Map<string, { socket: tls.TLSSocket; peer: PeerCertificate; channelBinding: Uint8Array }>();
  server.addService(fileSyncDefinition, {
    session(call: grpc.ServerDuplexStream<Envelope, Envelope>) {
      const remote = call.getPeer();
      const accepted = sockets.get(remote);
      if (!accepted) return call.end(); // its socket is already gone
      const { socket, peer, channelBinding } = accepted;
      onConnection(
        duplexConnection(
          call as unknown as Duplex,
          { remoteAddress: remote, peer, channelBinding, role: "server" },
          () => {
            endSocket(socket);
          },
        ),
      );
    },
  });
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = tls.createServer(
    { ...tlsOptions(identity), requestCert: true, handshakeTimeout: HANDSHAKE_TIMEOUT_MS },
    (socket) => {
      const peer = peerCertificateOf(socket);
      const channelBinding = channelBindingOf(socket, "server");
      if (!peer || !channelBinding) return socket.destroy(); // no certificate: no device
      const remote = formatHostPort({ host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 });
      sockets.set(remote, { socket, peer, channelBinding });
      socket.once("close", () => sockets.delete(remote));
      socket.on("error", () => socket.destroy());
      injector.injectConnection(socket);
    },
  );
  // Not TLS, a failed handshake, a timeout: the socket is dropped, the listener goes on.
  listener.on("tlsClientError", (_e, socket) => socket.destroy());
  listener.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(address.port, address.host, () => {
      listener.off("error", reject);
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
    port: (listener.address() as net.AddressInfo).port,
    async close() {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const { socket } of sockets.values()) socket.destroy();
      injector.destroy();
      server.forceShutdown();
      await closed;
    },
  };
}

/**
 * Connects to a peer over mutual TLS and opens a Session. With `expected`, the peer must be
 * that device (its certificate's SHA-256); without, the caller must confirm `peer.deviceId`
 * (for instance by showing it to the user) before trusting it.
 *
 * @throws {PeerUnreachableError} naming the cause (refused, not found, timed out).
 * @throws {UntrustedPeerError} when the peer is not the expected device.
 */
export async function dial(
  address: HostPort,
  identity: TlsIdentity,
  expected?: Uint8Array,
  timeoutMs = 10_000,
): Promise<Connection> {
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
  const credentials = new PinnedTlsCredentials(identity, target, expected);
  const client = new Client(target, credentials, CHANNEL_OPTIONS);
  const abandon = () => {
    for (const socket of credentials.sockets) endSocket(socket);
    setTimeout(() => client.close(), 300).unref?.();
  };
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + timeoutMs, (e) => e ? reject(e) : resolve())
      ),
      credentials.untrusted,
    ]);
  } catch (e) {
    abandon();
    if (credentials.failure instanceof FsyncError) throw credentials.failure;
    throw new PeerUnreachableError(`cannot reach peer ${target}: it does not answer as an fsync peer`, {
      cause: e,
      hint: `is "fsync share" running there?`,
    });
  }
  const { certificate, deviceId, channelBinding } = credentials.peer!;
  const call = (client as unknown as { session(): grpc.ClientDuplexStream<Envelope, Envelope> }).session();
  return duplexConnection(
    call as unknown as Duplex,
    { remoteAddress: target, peer: { certificate, deviceId }, channelBinding, role: "client" },
    abandon,
  );
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
function duplexConnection(
  stream: Duplex,
  ends: Pick<Connection, "remoteAddress" | "peer" | "channelBinding" | "role">,
  end: () => void,
): Connection {
  const { remoteAddress } = ends;
  let closed = false;
  let ended = false;
  const failure = new Promise<never>((_, reject) => {
    const fail = () => reject(new PeerUnreachableError(`connection to ${remoteAddress} closed`));
    stream.once("close", fail);
    stream.once("error", fail);
  });
  failure.catch(() => closed = true);
  // grpc-js reports a peer that hangs up as an error on the stream; the iterator below
  // surfaces it, and a listener keeps it from being an unhandled 'error' event.
  stream.on("error", () => closed = true);
  // Every sender that finds the stream full waits on one 'drain' listener: a pull has dozens
  // of tasks sending at once, and a listener each made Node warn of a leak on stderr.
  let drained: Promise<void> | undefined;
  const drain = () =>
    drained ??= new Promise<void>((resolve) =>
      stream.once("drain", () => {
        drained = undefined;
        resolve();
      })
    );
  return {
    ...ends,
    async send(message: Message): Promise<void> {
      if (closed) throw new PeerUnreachableError(`connection to ${remoteAddress} closed`);
      if (!stream.write(toWire(message))) await Promise.race([drain(), failure]);
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
      // Even when the stream has already failed (an invalid message from the peer): the
      // socket must still be ended, or a broken peer would stay connected.
      if (ended) return;
      ended = true;
      closed = true;
      end();
    },
  };
}
