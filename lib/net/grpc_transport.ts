import type * as grpc from "@grpc/grpc-js";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { CHANNEL_OPTIONS, duplexConnection, fileSyncDefinition } from "./grpc_stream.ts";
import {
  channelBindingOf,
  endSocket,
  HANDSHAKE_TIMEOUT_MS,
  loadGrpc,
  peerCertificateOf,
  PinnedTls,
  type TlsIdentity,
  tlsOptions,
} from "./pinned_tls.ts";
import type { Envelope } from "../gen/filesync_pb.ts";
import { ExitCode, FsyncError } from "../model/mod.ts";
import { formatHostPort, type HostPort } from "../model/mod.ts";
import { Admission, type AdmissionLimits, sourceOf } from "./admission.ts";
import type { Connection, PeerCertificate } from "./connection.ts";
import { acceptDataHello, DATA_ALPN, dataChannelOf, dataPathPinned, dialData } from "./data_path.ts";
import { DataTickets } from "./data_tickets.ts";
import { framePartsOf } from "./frame_codec.ts";
import { FloodLog } from "./flood_log.ts";
import { PeerUnreachableError, PortInUseError } from "./errors.ts";
import { verifyIdentityProof } from "./identity.ts";
import { MAX_MESSAGE_BYTES, type Message } from "./messages.ts";

/** Authenticated connections a listener holds at once; strangers are counted apart. */
export const MAX_CONNECTIONS = 256;

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
  /** Accept data connections for blocks beside sessions (data_path.ts; default true). */
  readonly dataPath?: boolean;
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
/**
 * Idle time after which TCP keepalive probes go out on a data connection, as often as the
 * Session's gRPC pings (Deno's own sockets can only take the system's default, two hours).
 */
const DATA_KEEPALIVE_MS = 20_000;
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
  /** Set instead when the client asked for a data connection (ALPN), with no certificate needed. */
  data?: tls.TLSSocket;
  /** Ends the count of its input (once authenticated). */
  stopCounting?: () => void;
  /** Session streams opened on it. */
  sessions: number;
}

/**
 * Listens for peers on `address` over mutual TLS and hands every new Session to
 * `onConnection`, with the certificate the peer presented. On the same port, TLS connections
 * that ask for ALPN `fsync-data/1` are data connections (data_path.ts): they need no
 * certificate, but their first frame must redeem a ticket one of this listener's sessions
 * offered, within the same limits as any unauthenticated connection. The TLS listener is fsync's own
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
  const dataPath = options.dataPath ?? true;
  const tickets = new DataTickets();
  // One stream per connection: fsync opens a single Session, and a stream holds up to a
  // whole message of buffered input.
  const grpcJs = await loadGrpc();
  const server = new grpcJs.Server({ ...CHANNEL_OPTIONS, "grpc.max_concurrent_streams": 1 });
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
    entry.data?.destroy();
    entry.raw.destroy();
  };
  const forget = (remote: string) => {
    accepted.delete(remote);
    admission.release(remote);
    tickets.revoke(remote);
  };
  /**
   * Counts an unauthenticated connection's input as it arrives: a check every few
   * milliseconds would let each stranger push megabytes into buffers first.
   */
  const countInput = (remote: string, entry: Accepted, socket: tls.TLSSocket) => {
    let input = 0;
    const count = (chunk: Uint8Array) => {
      input += chunk.length;
      if (input > UNAUTHENTICATED_MAX_BYTES) drop(remote, "too much input");
    };
    socket.on("data", count);
    entry.stopCounting = () => socket.off("data", count);
  };
  /** A data connection: admitted once its first frame redeems a ticket of a live session. */
  const acceptData = (remote: string, entry: Accepted, socket: tls.TLSSocket) => {
    entry.data = socket;
    admission.progress(remote, Date.now());
    socket.on("error", () => socket.destroy());
    socket.setNoDelay(true);
    // Its idle stretches outlast NAT mappings that the Session's pings keep for the Session only.
    socket.setKeepAlive(true, DATA_KEEPALIVE_MS);
    countInput(remote, entry, socket);
    void acceptDataHello(socket, tickets).then((hello) => {
      if (accepted.get(remote) !== entry) return socket.destroy(); // dropped meanwhile
      if (!hello) return drop(remote, "a data connection without a valid ticket");
      if (!admission.authenticate(remote)) return drop(remote, `over ${MAX_CONNECTIONS} trusted connections`);
      entry.stopCounting?.();
      hello.frames.admit(MAX_MESSAGE_BYTES);
      // The echo tells the dialler its blocks may come here; until then it sends nothing more.
      const echoed = hello.frames.write(framePartsOf({ type: "dataHello", ticket: hello.ticket }));
      echoed?.catch(() => {});
      hello.redeem(dataChannelOf(hello.frames));
    }, (e) => {
      drop(remote, "a broken data connection");
      throw e; // only a bug gets here: a peer's bad input is an FsyncError, answered above
    });
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
        {
          remoteAddress: remote,
          peer,
          channelBinding,
          role: "server",
          dataPath: dataPath ? { offer: () => tickets.issue(remote) } : undefined,
        },
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
  const injector = server.createConnectionInjector(grpcJs.ServerCredentials.createInsecure());
  const listener = tls.createServer(
    {
      ...tlsOptions(identity),
      ALPNProtocols: dataPath ? ["h2", DATA_ALPN] : ["h2"],
      requestCert: true,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    },
    (socket) => {
      const remote = formatHostPort({ host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 });
      const entry = accepted.get(remote);
      if (entry && dataPath && socket.alpnProtocol === DATA_ALPN) return acceptData(remote, entry, socket);
      const peer = peerCertificateOf(socket);
      const channelBinding = channelBindingOf(socket, "server");
      // Evicted or timed out during the handshake, or no certificate (no device): dropped.
      if (!entry || !peer || !channelBinding) return socket.destroy();
      entry.secured = { socket, peer, channelBinding };
      admission.progress(remote, Date.now());
      socket.on("error", () => socket.destroy());
      injector.injectConnection(socket);
      countInput(remote, entry, socket);
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
      for (const { raw, secured, data } of accepted.values()) {
        secured?.socket.destroy();
        data?.destroy();
        raw.destroy();
      }
      injector.destroy();
      server.forceShutdown();
      await closed;
    },
  };
}

/** How a dialled connection behaves. */
export interface DialOptions {
  /** Time to reach the peer and finish TLS (default 10 s). */
  readonly timeoutMs?: number;
  /** Open a data connection for blocks when the peer offers one (default true). */
  readonly dataPath?: boolean;
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
  options: DialOptions = {},
): Promise<Connection> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const target = formatHostPort(address);
  // A plain TCP attempt first: it fails at once with the real reason, where grpc-js would
  // retry quietly until the deadline.
  const refused = await probeTcp(address, Math.min(timeoutMs, 5000));
  if (refused) {
    throw new PeerUnreachableError(`cannot reach peer ${target}: ${refused}`, {
      hint: `is "fsync share" running there?`,
    });
  }
  const grpcJs = await loadGrpc();
  const Client = grpcJs.makeGenericClientConstructor(fileSyncDefinition, "FileSync");
  const pinned = new PinnedTls(identity, target, expected);
  const client = new Client(target, pinned.credentials(grpcJs), CHANNEL_OPTIONS);
  const abandon = () => {
    for (const socket of pinned.sockets) endSocket(socket);
    setTimeout(() => client.close(), 300).unref?.();
  };
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + timeoutMs, (e) => e ? reject(e) : resolve())
      ),
      pinned.untrusted,
    ]);
  } catch (e) {
    abandon();
    if (pinned.failure instanceof FsyncError) throw pinned.failure;
    throw new PeerUnreachableError(`cannot reach peer ${target}: it does not answer as an fsync peer`, {
      cause: e,
      hint: `is "fsync share" running there?`,
    });
  }
  const { certificate, deviceId, channelBinding } = pinned.peer!;
  const call = (client as unknown as { session(): grpc.ClientDuplexStream<Envelope, Envelope> }).session();
  return duplexConnection(
    call as unknown as Duplex,
    {
      remoteAddress: target,
      peer: { certificate, deviceId },
      channelBinding,
      role: "client",
      dataPath: (options.dataPath ?? true) && dataPathPinned()
        ? { open: (ticket: Uint8Array) => dialData(address, certificate, ticket) }
        : undefined,
    },
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
