import { X509Certificate } from "node:crypto";
import type { Duplex } from "node:stream";
import { equalBytes, FsyncError } from "../model/mod.ts";
import { formatHostPort, type HostPort } from "../model/mod.ts";
import type { DataOffer, DataTickets } from "./data_tickets.ts";
import { PeerUnreachableError, ProtocolError, UntrustedPeerError } from "./errors.ts";
import { framePartsOf, messageOfFrame } from "./frame_codec.ts";
import { connFrames, type FrameChannel, type GatedFrames, streamFrames } from "./frames.ts";
import { MAX_MESSAGE_BYTES, type Message } from "./messages.ts";

/**
 * The data path: block requests and responses of a session on a connection of their own,
 * beside the gRPC Session, to the same port.
 *
 * The listener's side of a session offers a single-use ticket over the Session (DataOffer),
 * only to a peer it admitted; the dialling side opens native TLS to the address it dialled
 * with ALPN {@linkcode DATA_ALPN}, pinning the listener's certificate (the one its Session
 * proved), and sends the ticket as its first frame (DataHello). The listener answers with the
 * same DataHello once it admitted the connection; only then do blocks travel on it. The ticket
 * is 32 random bytes that only ever crossed that session's TLS and is void once its session
 * ends: it binds the data connection to the session. Nothing else is authenticated on it, and
 * nothing but blocks travels on it.
 */
export const DATA_ALPN = "fsync-data/1";
/** The first frame of a data connection is a DataHello (36 bytes); a longer one is refused unread. */
const DATA_HELLO_MAX_BYTES = 64;
/**
 * The name every fsync certificate carries (its SAN). rustls checks it, and trusts the peer's
 * own certificate beside its bundled public roots, none of which may certify a bare name.
 */
const SERVER_NAME = "fsync";
/** How long dialling a data connection may take: TCP, TLS and the listener's answer. */
const DIAL_TIMEOUT_MS = 10_000;

/**
 * Whether rustls pins the listener by its certificate alone: its roots are the bundled public
 * ones unless DENO_TLS_CA_STORE names the system's store or DENO_CERT adds a file, and an
 * intercepting root installed there could certify the name "fsync". Without the pin, blocks
 * stay on the Session, whose certificate is checked by its SHA-256.
 */
export function dataPathPinned(): boolean {
  const store = Deno.env.get("DENO_TLS_CA_STORE") ?? "";
  return (store === "" || store === "mozilla") && !Deno.env.get("DENO_CERT");
}

/** Blocks of one session on its data connection: only blockRequest and blockResponse. */
export interface DataChannel {
  /**
   * Sends a message; resolves once more may be sent. Rejects after close. `written` is called
   * once the message has been written to the connection, block data included (never if it fails first).
   */
  send(message: Message, written?: () => void): Promise<void>;
  /** The peer's messages, validated; throws a ProtocolError for anything but blocks. */
  messages(): AsyncIterable<Message>;
  /** Closes the connection; the messages end, sends reject. */
  close(): void;
}

/** What a session's connection can do about a data path, by the end it is. */
export interface DataPath {
  /** The listener's end: a ticket to send the peer, the data channel it will open with it, and its withdrawal. */
  offer?(): DataOffer;
  /** The dialling end: opens the data channel with the ticket the peer offered. */
  open?(ticket: Uint8Array): Promise<DataChannel>;
}

/** A data channel over framed bytes: blocks in both directions. */
export function dataChannelOf(frames: FrameChannel): DataChannel {
  return {
    async send(message, written) {
      await frames.write(framePartsOf(message), written);
    },
    async *messages() {
      for await (const frame of frames.frames()) {
        const message = messageOfFrame(frame);
        if (message.type !== "blockRequest" && message.type !== "blockResponse") {
          throw new ProtocolError(`${message.type} on a data connection`);
        }
        yield message;
      }
    },
    close: () => frames.close(),
  };
}

/**
 * Reads a data connection's first frame on the listener: a DataHello whose ticket `tickets`
 * issued. Returns the ticket, its waiter and the connection's frames, whose next ones wait for
 * `admit` (see {@linkcode GatedFrames}; the caller then echoes the DataHello); undefined for
 * anything else (the caller closes the socket). Bounded in size here; in time by the listener's
 * deadline for unauthenticated connections.
 */
export async function acceptDataHello(
  socket: Duplex,
  tickets: DataTickets,
): Promise<{ ticket: Uint8Array; redeem: (channel: DataChannel) => void; frames: GatedFrames } | undefined> {
  const frames = streamFrames(socket, DATA_HELLO_MAX_BYTES);
  const reader = frames.frames()[Symbol.asyncIterator]();
  try {
    const first = await reader.next();
    if (first.done) return undefined;
    const hello = messageOfFrame(first.value);
    if (hello.type !== "dataHello") return undefined;
    const redeem = tickets.redeem(hello.ticket);
    if (!redeem) return undefined;
    const rest: GatedFrames = {
      admit: (maxFrame) => frames.admit(maxFrame),
      write: (parts, written) => frames.write(parts, written),
      frames: () => ({ [Symbol.asyncIterator]: () => reader }),
      close: () => frames.close(),
    };
    return { ticket: hello.ticket, redeem, frames: rest };
  } catch (e) {
    if (e instanceof FsyncError) return undefined;
    throw e;
  }
}

/**
 * Opens the data connection of a session this device dialled at `address`: native TLS to the
 * same address that trusts the peer's `certificate` (DER; see {@linkcode dataPathPinned}), ALPN
 * {@linkcode DATA_ALPN}, the DataHello with the offered ticket, and the listener's echo of it.
 *
 * @throws {PeerUnreachableError} when the connection or its handshake fails or times out.
 * @throws {UntrustedPeerError} when the listener presents another certificate.
 */
export async function dialData(address: HostPort, certificate: Uint8Array, ticket: Uint8Array): Promise<DataChannel> {
  const target = formatHostPort(address);
  const caCert = new X509Certificate(certificate).toString();
  let conn: Deno.Conn | undefined;
  let gaveUp = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      gaveUp = true;
      reject(new PeerUnreachableError(`data connection to ${target} timed out`));
    }, DIAL_TIMEOUT_MS);
  });
  /** Each step keeps the connection where a late one can still close it. */
  const keep = <T extends Deno.Conn>(c: T): T => {
    conn = c;
    if (gaveUp) c.close();
    return c;
  };
  const open = async () => {
    const tcp = keep(await Deno.connect({ hostname: address.host, port: address.port }));
    tcp.setNoDelay(true);
    const tls = keep(
      await Deno.startTls(tcp, { hostname: SERVER_NAME, caCerts: [caCert], alpnProtocols: [DATA_ALPN] }),
    );
    const { alpnProtocol } = await tls.handshake();
    if (alpnProtocol !== DATA_ALPN) throw new PeerUnreachableError(`${target} does not offer the data path`);
    return tls;
  };
  try {
    const tls = await Promise.race([open(), late]);
    const frames = connFrames(tls, MAX_MESSAGE_BYTES);
    await frames.write(framePartsOf({ type: "dataHello", ticket }));
    const refused = (cause?: unknown) =>
      new PeerUnreachableError(`${target} did not accept the data connection`, { cause });
    const answer = await Promise.race([frames.frames()[Symbol.asyncIterator]().next(), late]).catch((e) => {
      throw e === late ? e : refused(e);
    });
    const echo = answer.done ? undefined : messageOfFrame(answer.value);
    if (echo?.type !== "dataHello" || !equalBytes(echo.ticket, ticket)) throw refused();
    return dataChannelOf(frames);
  } catch (e) {
    try {
      conn?.close();
    } catch {
      // closed already
    }
    if (e instanceof FsyncError) throw e;
    const message = (e as Error).message;
    if (/invalid peer certificate/i.test(message)) {
      throw new UntrustedPeerError(`${target} did not present the certificate of its session: ${message}`);
    }
    throw new PeerUnreachableError(`data connection to ${target} failed: ${message}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}
