import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { type Envelope, EnvelopeSchema, FileSync } from "../gen/filesync_pb.ts";
import { equalBytes, ExitCode, formatDeviceId, FsyncError } from "../model/mod.ts";
import { formatHostPort, type HostPort } from "./address.ts";
import { Admission, type AdmissionLimits, sourceOf } from "./admission.ts";
import type { Connection, PeerCertificate } from "./connection.ts";
import { fromWire, toWire } from "./convert.ts";
import { FloodLog } from "./flood_log.ts";
import { PeerUnreachableError, PortInUseError, UntrustedPeerError } from "./errors.ts";
import { type ConnectionRole, deviceIdOf, verifyIdentityProof } from "./identity.ts";
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
/** Authenticated connections a listener holds at once; strangers are counted apart. */
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

/** How a listener treats connections whose peer has not proven a trusted identity yet. */
export interface ListenOptions {
  /** Receives at most one line a minute about connections closed for a limit (a flood). */
  readonly onWarning?: (line: string) => void;
  /** Time from TCP accept to {@linkcode Connection.authenticated} (shorter in tests). */
  readonly authDeadlineMs?: number;
}

/**
 * Time from TCP accept for a peer to be authenticated, whatever it does meanwhile: a TLS
 * handshake, a Hello and a decision from the store take milliseconds.
 */
export const AUTH_DEADLINE_MS = 10_000;
/**
 * The deadline once the peer's Hello proved the key of its certificate: the device may be
 * asking its user whether to let it in. It stays unauthenticated (capped and evictable).
 */
const APPROVAL_DEADLINE_MS = 300_000;
/**
 * Bytes an unauthenticated peer may send after TLS: HTTP/2 set-up, a Hello and a cluster
 * configuration take a few KiB (about 100 bytes a folder); more is closed. Each KiB held
 * costs the listener several in buffers (250 strangers holding 100 KB each took 110 MiB).
 */
const UNAUTHENTICATED_MAX_BYTES = 32 << 10;
/**
 * The caps: a newcomer evicts the stalest unauthenticated connection of the busiest source
 * (admission.ts), so strangers cannot lock out trusted peers or invite holders. Each
 * unauthenticated connection holds at most UNAUTHENTICATED_MAX_BYTES of input.
 */
const LIMITS: AdmissionLimits = { unauthenticated: 256, authenticated: MAX_CONNECTIONS };
/** How often the deadlines of unauthenticated connections are checked. */
const CHECK_INTERVAL_MS = 100;
/** At most one warning line about closed connections per this interval. */
const FLOOD_LOG_INTERVAL_MS = 60_000;

/** A TCP connection a listener accepted, keyed by the remote `host:port`. */
interface Accepted {
  readonly raw: net.Socket;
  readonly source: string;
  readonly acceptedMs: number;
  deadlineMs: number;
  /** Set once TLS is established with a certificate. */
  secured?: { socket: tls.TLSSocket; peer: PeerCertificate; channelBinding: Uint8Array };
  /** Ends the count of its input (once authenticated). */
  stopCounting?: () => void;
  /** Session streams opened on it. */
  sessions: number;
}

/**
 * Listens for peers on `address` over mutual TLS and hands every new Session to
 * `onConnection`, with the certificate the peer presented. The TLS listener is fsync's own
 * and gRPC runs over the sockets it accepts (DENO-FACTS §1, S6), so errors are exact (port
 * in use), and a client without a certificate, or speaking anything but TLS 1.3, never
 * reaches gRPC. Whether the device is trusted is the caller's decision, which it reports
 * with {@linkcode Connection.authenticated}; until then a connection is closed at the TCP
 * level when its deadline passes, when it sends more than a few KiB, or when it opens a
 * second stream, and it may be evicted by newcomers (see {@linkcode Admission}).
 *
 * @throws {PortInUseError} when the port is taken.
 */
export async function listen(
  address: HostPort,
  identity: TlsIdentity,
  onConnection: (connection: Connection) => void,
  options: ListenOptions = {},
): Promise<Listener> {
  const authDeadlineMs = options.authDeadlineMs ?? AUTH_DEADLINE_MS;
  // One stream per connection: fsync opens a single Session, and a stream holds up to a
  // whole message of buffered input.
  const server = new grpc.Server({ ...CHANNEL_OPTIONS, "grpc.max_concurrent_streams": 1 });
  const accepted = new Map<string, Accepted>();
  const admission = new Admission<string>(LIMITS);
  const flood = new FloodLog(FLOOD_LOG_INTERVAL_MS);
  /** Closes an accepted connection at the TCP level (never a GOAWAY, DENO-FACTS). */
  const drop = (remote: string, reason: string) => {
    const entry = accepted.get(remote);
    if (!entry) return;
    flood.note(entry.source, reason);
    forget(remote);
    entry.secured?.socket.destroy();
    entry.raw.destroy();
  };
  const forget = (remote: string) => {
    accepted.delete(remote);
    admission.release(remote);
  };
  server.addService(fileSyncDefinition, {
    session(call: grpc.ServerDuplexStream<Envelope, Envelope>) {
      const remote = call.getPeer();
      const entry = accepted.get(remote);
      if (!entry?.secured) return call.end(); // its socket is already gone
      const authenticated = admission.isAuthenticated(remote);
      if (++entry.sessions > 1 && !authenticated) return drop(remote, "opened a second stream");
      admission.progress(remote, Date.now());
      const { socket, peer, channelBinding } = entry.secured;
      const connection = duplexConnection(
        call as unknown as Duplex,
        { remoteAddress: remote, peer, channelBinding, role: "server" },
        {
          end: () => endSocket(socket),
          authenticated: () => {
            if (accepted.get(remote) !== entry) return; // closed meanwhile
            if (!admission.authenticate(remote)) return drop(remote, `over ${MAX_CONNECTIONS} trusted connections`);
            entry.stopCounting?.();
          },
        },
      );
      void helloOf(connection).then((opened) => {
        if (!opened) return drop(remote, "no valid Hello");
        if (authenticated) return onConnection(opened);
        entry.deadlineMs = entry.acceptedMs + Math.max(authDeadlineMs, APPROVAL_DEADLINE_MS);
        admission.progress(remote, Date.now());
        onConnection(opened);
      });
    },
  });
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = tls.createServer(
    { ...tlsOptions(identity), requestCert: true, handshakeTimeout: HANDSHAKE_TIMEOUT_MS },
    (socket) => {
      const remote = formatHostPort({ host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 });
      const entry = accepted.get(remote);
      const peer = peerCertificateOf(socket);
      const channelBinding = channelBindingOf(socket, "server");
      // Evicted or timed out during the handshake, or no certificate (no device): dropped.
      if (!entry || !peer || !channelBinding) return socket.destroy();
      entry.secured = { socket, peer, channelBinding };
      admission.progress(remote, Date.now());
      socket.on("error", () => socket.destroy());
      injector.injectConnection(socket);
      // Counted as it arrives (the socket flows into HTTP/2 anyway): a check every few
      // milliseconds would let each stranger push megabytes into grpc-js's buffers first.
      let input = 0;
      const count = (chunk: Uint8Array) => {
        input += chunk.length;
        if (input > UNAUTHENTICATED_MAX_BYTES) drop(remote, "too much input");
      };
      socket.on("data", count);
      entry.stopCounting = () => socket.off("data", count);
    },
  );
  // Every TCP connection is counted from accept, before anyone is known.
  listener.on("connection", (raw: net.Socket) => {
    const remote = formatHostPort({ host: raw.remoteAddress ?? "", port: raw.remotePort ?? 0 });
    const now = Date.now();
    const source = sourceOf(raw.remoteAddress ?? "");
    for (const evicted of admission.accept(remote, source, now)) drop(evicted.key, "evicted by newer connections");
    const entry: Accepted = { raw, source, acceptedMs: now, deadlineMs: now + authDeadlineMs, sessions: 0 };
    accepted.set(remote, entry);
    raw.once("close", () => {
      if (accepted.get(remote) === entry) forget(remote);
    });
  });
  const checks = setInterval(() => {
    const now = Date.now();
    for (const remote of admission.unauthenticated()) {
      const entry = accepted.get(remote)!;
      if (now > entry.deadlineMs) drop(remote, "not authenticated in time");
    }
    const line = flood.take(now);
    if (line) options.onWarning?.(line);
  }, CHECK_INTERVAL_MS);
  // Not TLS, a failed handshake, a timeout: the socket is dropped, the listener goes on.
  listener.on("tlsClientError", (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(address.port, address.host, () => {
      listener.off("error", reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    clearInterval(checks);
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
      clearInterval(checks);
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const { raw, secured } of accepted.values()) {
        secured?.socket.destroy();
        raw.destroy();
      }
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
    { end: abandon },
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

/**
 * Waits for the first message of a connection a listener accepted and returns the
 * connection with that message still to be read, when it is a Hello that proves the key of
 * the certificate the peer presented; undefined otherwise (the connection is then useless).
 * So only peers that proved a key reach the device, and strangers that send nothing or
 * garbage are counted in the flood log instead of logged one by one.
 */
async function helloOf(connection: Connection): Promise<Connection | undefined> {
  const messages = connection.messages()[Symbol.asyncIterator]();
  let first: IteratorResult<Message>;
  try {
    first = await messages.next();
  } catch (e) {
    if (e instanceof FsyncError) return undefined; // an invalid message, or the connection failed
    throw e;
  }
  if (first.done || first.value.type !== "hello") return undefined;
  const { certificate } = connection.peer;
  if (!verifyIdentityProof(certificate, connection.channelBinding, "client", first.value.identityProof)) {
    return undefined;
  }
  const hello = first.value;
  return {
    ...connection,
    async *messages() {
      yield hello;
      yield* { [Symbol.asyncIterator]: () => messages };
    },
  };
}

/** What a listener learns from a connection it accepted. */
interface Hooks {
  /** Ends the connection at the TCP level. */
  end(): void;
  /** The device admitted the peer. */
  authenticated?(): void;
}

/** Adapts a gRPC duplex stream of Envelopes to a {@linkcode Connection}. */
function duplexConnection(
  stream: Duplex,
  ends: Pick<Connection, "remoteAddress" | "peer" | "channelBinding" | "role">,
  hooks: Hooks,
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
    authenticated() {
      hooks.authenticated?.();
    },
    close() {
      // Even when the stream has already failed (an invalid message from the peer): the
      // socket must still be ended, or a broken peer would stay connected.
      if (ended) return;
      ended = true;
      closed = true;
      hooks.end();
    },
  };
}
