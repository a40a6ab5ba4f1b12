import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import type { Duplex } from "node:stream";
import { BlockResponseSchema, EnvelopeSchema } from "../gen/filesync_pb.ts";
import { FsyncError } from "../model/mod.ts";
import { formatHostPort, type HostPort } from "./address.ts";
import { blockResponseToWire, fromWire, toWire } from "./convert.ts";
import { PeerUnreachableError, ProtocolError, UntrustedPeerError } from "./errors.ts";
import { connFrames, type FrameChannel, type GatedFrames, streamFrames } from "./frames.ts";
import { DATA_TICKET_BYTES, MAX_MESSAGE_BYTES, type Message } from "./messages.ts";

/**
 * The data path: block requests and responses of a session on a connection of their own,
 * beside the gRPC Session, to the same port. Measured between two processes here, it costs
 * the fetching side a third of gRPC's CPU per GiB and both sides 60-70 % less per small block
 * (DENO-FACTS, ../shared/research/transport/).
 *
 * The listener's side of a session offers a single-use ticket over the Session (DataOffer),
 * only to a peer it admitted; the dialling side opens native TLS to the address it dialled
 * with ALPN {@linkcode DATA_ALPN}, pinning the listener's certificate (the one its Session
 * proved), and sends the ticket as its first frame (DataHello). The ticket is 32 random bytes
 * that only ever crossed that session's TLS, expires with the session or after 30 s, and binds
 * the data connection to the session: nothing else is authenticated on it, and nothing but
 * blocks travels on it.
 */
export const DATA_ALPN = "fsync-data/1";
/** How long an offered ticket waits for its data connection. */
export const DATA_TICKET_TTL_MS = 30_000;
/** The first frame of a data connection is a DataHello (36 bytes); a longer one is refused unread. */
const DATA_HELLO_MAX_BYTES = 64;
/**
 * The name every fsync certificate carries (its SAN). rustls checks it, and pins with the
 * peer's own certificate as the only extra root; no public CA may certify a bare name.
 */
const SERVER_NAME = "fsync";
/** How long dialling a data connection may take, TCP and TLS. */
const DIAL_TIMEOUT_MS = 10_000;

/** Blocks of one session on its data connection: only blockRequest and blockResponse. */
export interface DataChannel {
  /** Sends a message; resolves once more may be sent. Rejects after close. */
  send(message: Message): Promise<void>;
  /** The peer's messages, validated; throws a ProtocolError for anything but blocks. */
  messages(): AsyncIterable<Message>;
  close(): void;
}

/** What a session's connection can do about a data path, by the end it is. */
export interface DataPath {
  /** The listener's end: a ticket to send the peer, and the data channel it will open with it. */
  offer?(): { ticket: Uint8Array; channel: Promise<DataChannel> };
  /** The dialling end: opens the data channel with the ticket the peer offered. */
  open?(ticket: Uint8Array): Promise<DataChannel>;
}

/**
 * A message as the parts of one frame. A block response's data is its last part, not copied
 * (protobuf-es's toBinary copies a 1 MiB bytes field several times, about 2 ms per MiB): the
 * prefix is the Envelope and BlockResponse headers, then the data field's tag and length.
 * Field order is free in protobuf; any decoder reads the result unchanged.
 */
export function framePartsOf(message: Message): Uint8Array[] {
  if (message.type !== "blockResponse" || message.data.length === 0) {
    return [toBinary(EnvelopeSchema, toWire(message))];
  }
  const rest = toBinary(BlockResponseSchema, blockResponseToWire({ ...message, data: new Uint8Array() }));
  const dataHeader = [0x12, ...varint(message.data.length)]; // BlockResponse field 2, length-delimited
  const inner = rest.length + dataHeader.length + message.data.length;
  const envelopeHeader = [0x3a, ...varint(inner)]; // Envelope field 7 (block_response), length-delimited
  const prefix = new Uint8Array(envelopeHeader.length + rest.length + dataHeader.length);
  prefix.set(envelopeHeader);
  prefix.set(rest, envelopeHeader.length);
  prefix.set(dataHeader, envelopeHeader.length + rest.length);
  return [prefix, message.data];
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  out.push(n);
  return out;
}

/** Decodes and validates one frame. @throws {ProtocolError} for bytes that are no valid message. */
export function messageOfFrame(frame: Uint8Array): Message {
  let envelope;
  try {
    envelope = fromBinary(EnvelopeSchema, frame);
  } catch (e) {
    throw new ProtocolError(`undecodable frame: ${(e as Error).message}`);
  }
  return fromWire(envelope);
}

/** A data channel over framed bytes: blocks in both directions. */
export function dataChannelOf(frames: FrameChannel): DataChannel {
  return {
    async send(message) {
      await frames.write(framePartsOf(message));
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
 * The tickets a listener offered and not yet redeemed, each for one session (its owner key).
 * A ticket is redeemed once; it expires after DATA_TICKET_TTL_MS or when its session ends.
 */
export class DataTickets {
  #waiting = new Map<string, { owner: string; settle: (channel: DataChannel | Error) => void }>();

  /** A fresh ticket for the session `owner`, and the channel its data connection will bring. */
  issue(owner: string): { ticket: Uint8Array; channel: Promise<DataChannel> } {
    const ticket = crypto.getRandomValues(new Uint8Array(DATA_TICKET_BYTES));
    const key = Buffer.from(ticket).toString("hex");
    const channel = new Promise<DataChannel>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new PeerUnreachableError(`no data connection within ${DATA_TICKET_TTL_MS / 1000} s`)),
        DATA_TICKET_TTL_MS,
      );
      const settle = (outcome: DataChannel | Error) => {
        clearTimeout(timer);
        this.#waiting.delete(key);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      this.#waiting.set(key, { owner, settle });
    });
    channel.catch(() => {}); // an unused offer is no failure
    return { ticket, channel };
  }

  /** Takes the ticket's waiter off the list; undefined for a ticket never issued, used, or expired. */
  redeem(ticket: Uint8Array): ((channel: DataChannel) => void) | undefined {
    const waiter = this.#waiting.get(Buffer.from(ticket).toString("hex"));
    if (!waiter) return undefined;
    this.#waiting.delete(Buffer.from(ticket).toString("hex"));
    return (channel) => waiter.settle(channel);
  }

  /** The session `owner` ended: its tickets are void. */
  revoke(owner: string): void {
    for (const waiter of [...this.#waiting.values()]) {
      if (waiter.owner === owner) waiter.settle(new PeerUnreachableError("the session ended"));
    }
  }
}

/**
 * Reads a data connection's first frame on the listener: a DataHello whose ticket `tickets`
 * issued. Returns the ticket's waiter and the connection's frames, whose next ones wait for
 * `admit` (see {@linkcode GatedFrames}); undefined for anything else (the caller closes the
 * socket). Bounded in size here; in time by the listener's deadline for unauthenticated
 * connections.
 */
export async function acceptDataHello(
  socket: Duplex,
  tickets: DataTickets,
): Promise<{ redeem: (channel: DataChannel) => void; frames: GatedFrames } | undefined> {
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
      write: (parts) => frames.write(parts),
      frames: () => ({ [Symbol.asyncIterator]: () => reader }),
      close: () => frames.close(),
    };
    return { redeem, frames: rest };
  } catch (e) {
    if (e instanceof FsyncError) return undefined;
    throw e;
  }
}

/**
 * Opens the data connection of a session this device dialled at `address`: native TLS to the
 * same address that trusts only the peer's `certificate` (DER), ALPN {@linkcode DATA_ALPN},
 * then the DataHello with the offered ticket.
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
    const channel = dataChannelOf(connFrames(tls, MAX_MESSAGE_BYTES));
    await channel.send({ type: "dataHello", ticket });
    return channel;
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
