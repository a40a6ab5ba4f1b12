import { blockBuffers, type BlockWant, equalBytes, formatDeviceId, Semaphore } from "../model/mod.ts";
import { type BlockErrorCode, type Message, PROTOCOL_VERSION } from "./messages.ts";
import type { Connection } from "./connection.ts";
import type { DataChannel } from "./data_path.ts";
import { PeerUnreachableError, ProtocolError, UntrustedPeerError } from "./errors.ts";
import { verifyIdentityProof } from "./identity.ts";

/**
 * Bytes of block data requested from one peer and not yet received, by default: 8 MiB kept a
 * 256 MiB pull as fast as 32 on 127.0.0.1, and allows 80 MB/s at a 100 ms round trip.
 */
export const MAX_BYTES_IN_FLIGHT = 8 << 20;
/** Block requests from one peer served at once. */
const MAX_CONCURRENT_SERVES = 16;
/**
 * Block requests from one peer not yet answered. This fsync keeps at most 8 MiB in flight
 * (64 blocks of 128 KiB), earlier ones 32 MiB (256); over 1,024 is a flood, and the peer is
 * disconnected.
 */
const MAX_OUTSTANDING_REQUESTS = 1024;
/** How long the peer has to say Hello. */
const HELLO_TIMEOUT_MS = 10_000;
/** How long a block request may wait for its answer. */
const BLOCK_TIMEOUT_MS = 60_000;
/** How long a goodbye may take to send: over a stalled link it never goes. */
const GOODBYE_TIMEOUT_MS = 2_000;

/** How a session bounds its work (defaults suit a device; tests make them smaller). */
export interface SessionOptions {
  /** Bytes of block data asked of the peer and not yet received (default 8 MiB). */
  readonly maxBytesInFlight?: number;
  /** How long a block request may wait for its answer (default 60 s). */
  readonly blockTimeoutMs?: number;
  /** The data connection the peer offered could not be opened (blocks stay on the Session). */
  readonly onDataPathFailure?: (e: Error) => void;
}

/** The messages a session hands to its device, after the Hello. */
export type SessionEvent = Exclude<
  Message,
  { type: "hello" | "blockRequest" | "blockResponse" | "ping" | "dataOffer" | "dataHello" }
>;

/**
 * Answers the peer's block requests (the device reads them from the folder). The session owns
 * the bytes returned: once written to a data connection they go back to `blockBuffers`.
 */
export type BlockAnswerer = (folderId: string, want: BlockWant) => Promise<Uint8Array | BlockErrorCode>;

/** The peer a session talks to: its proven device ID, and how it introduced itself. */
export interface PeerHello {
  readonly deviceId: string;
  readonly deviceName: string;
  readonly address: string;
  /** The invite proof its Hello carried (empty without one). */
  readonly inviteProof: Uint8Array;
  /** Its Hello said it can carry blocks on a data connection. */
  readonly dataPath: boolean;
}

type BlockRequest = Extract<Message, { type: "blockRequest" }>;
type BlockResponse = Extract<Message, { type: "blockResponse" }>;
/**
 * Where a block message goes: the Session's connection, or its data connection once open,
 * which tells once a message is written (`written`; the Session never does).
 */
type BlockRoute = { send(message: Message, written?: () => void): Promise<void> };

/**
 * One Session with a peer after the Hello exchange: sends messages, matches block
 * requests to responses with a bound on bytes in flight, serves the peer's block requests,
 * and hands every other message to the device in order. When both ends can, blocks move to a
 * data connection (data_path.ts) that lives and dies with the session: the listener offers
 * it once the session runs, the dialler opens it; requests sent before keep their answers on
 * the Session.
 */
export class PeerSession {
  readonly peer: PeerHello;
  #connection: Connection;
  #messages: AsyncIterator<Message>;
  #nextId = 1;
  /** Requests awaiting their answer, with the connection each was sent by (its answer must come back by it). */
  #pending = new Map<number, { route: BlockRoute; resolve: (data: Uint8Array) => void; reject: (e: Error) => void }>();
  #inFlight: Semaphore;
  #serving = new Semaphore(MAX_CONCURRENT_SERVES);
  #closed = false;
  #running = false;
  #outstanding = 0;
  #closeReason?: Error;
  #blockTimeoutMs: number;
  #onDataPathFailure?: (e: Error) => void;
  /** The data connection, once open: block requests go there, and its requests are answered there. */
  #data?: DataChannel;
  /** Set once this end says goodbye: a data connection failing from then on is no news. */
  #leaving = false;
  /** Settles once the data connection the peer offered is open or failed: fetches wait for it. */
  #dataOpening?: Promise<void>;
  /** Voids the listener's unused ticket when the session ends. */
  #withdrawOffer?: () => void;
  #serveBlock?: BlockAnswerer;
  #ended: () => void = () => {};
  /** Resolves when the connection has ended. */
  readonly ended: Promise<void> = new Promise((resolve) => this.#ended = resolve);

  private constructor(
    connection: Connection,
    messages: AsyncIterator<Message>,
    peer: PeerHello,
    options: SessionOptions,
  ) {
    this.#blockTimeoutMs = options.blockTimeoutMs ?? BLOCK_TIMEOUT_MS;
    this.#onDataPathFailure = options.onDataPathFailure;
    this.#inFlight = new Semaphore(options.maxBytesInFlight ?? MAX_BYTES_IN_FLIGHT);
    this.#connection = connection;
    this.#messages = messages;
    this.peer = peer;
  }

  /**
   * Says Hello, waits for the peer's, checks that the peer proved the device ID of its TLS
   * certificate for this very connection, and returns the session.
   *
   * @throws {ProtocolError} when the first message is not a valid Hello in time.
   * @throws {UntrustedPeerError} when the Hello does not prove the certificate's device ID.
   */
  static async open(
    connection: Connection,
    hello: Extract<Message, { type: "hello" }>,
    options: SessionOptions = {},
  ): Promise<PeerSession> {
    const messages = connection.messages()[Symbol.asyncIterator]();
    try {
      await connection.send(hello);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const first = await Promise.race([
        messages.next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ProtocolError("no Hello from the peer in time")), HELLO_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      if (first.done) throw new PeerUnreachableError(`${connection.remoteAddress} closed the connection before Hello`);
      const msg = first.value;
      if (msg.type !== "hello") throw new ProtocolError(`expected Hello, got ${msg.type}`);
      if (msg.protocolVersion !== PROTOCOL_VERSION) {
        throw new ProtocolError(`peer speaks protocol ${msg.protocolVersion}, this fsync speaks ${PROTOCOL_VERSION}`);
      }
      const theirRole = connection.role === "client" ? "server" : "client";
      if (
        !equalBytes(msg.deviceId, connection.peer.deviceId) ||
        !verifyIdentityProof(connection.peer.certificate, connection.channelBinding, theirRole, msg.identityProof)
      ) {
        throw new UntrustedPeerError(
          `${connection.remoteAddress} did not prove it is device ${formatDeviceId(connection.peer.deviceId)}`,
        );
      }
      const peer = {
        deviceId: formatDeviceId(msg.deviceId),
        deviceName: msg.deviceName,
        address: connection.remoteAddress,
        inviteProof: msg.inviteProof,
        dataPath: msg.dataPath === true,
      };
      return new PeerSession(connection, messages, peer, options);
    } catch (e) {
      connection.close();
      throw e;
    }
  }

  /** True once the connection has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a message to the peer. */
  async send(message: Message): Promise<void> {
    await this.#connection.send(message);
  }

  /**
   * Runs the session until the connection ends: serves block requests and hands other
   * messages to `onEvent`, one at a time, in order. Resolves when the peer hangs up;
   * rejects with the ProtocolError when the peer breaks the protocol (after closing). Called
   * only for an admitted peer: the listener's end offers the data path here.
   */
  async run(serveBlock: BlockAnswerer, onEvent: (event: SessionEvent) => Promise<void>): Promise<void> {
    this.#running = true;
    this.#serveBlock = serveBlock;
    try {
      if (this.#connection.role === "server") await this.#offerDataPath();
      while (true) {
        const next = await this.#messages.next();
        if (next.done) break;
        const msg = next.value;
        switch (msg.type) {
          case "hello":
            throw new ProtocolError("second Hello");
          case "blockRequest":
            this.#request(msg, this.#connection);
            break;
          case "blockResponse":
            this.#settle(msg, this.#connection);
            break;
          case "ping":
            break;
          case "dataOffer":
            this.#openDataPath(msg.ticket);
            break;
          case "dataHello":
            throw new ProtocolError("data hello on the Session");
          default:
            await onEvent(msg);
        }
      }
      this.#shutdown(new PeerUnreachableError(`${this.peer.address} closed the connection`));
    } catch (e) {
      this.#shutdown(e as Error);
      if (!(e instanceof PeerUnreachableError)) throw e;
    }
    // The data connection's reader ends the session on its own protocol errors.
    if (this.#closeReason instanceof ProtocolError) throw this.#closeReason;
  }

  /** True once the data connection carries this session's blocks. */
  get dataPathOpen(): boolean {
    return this.#data !== undefined && !this.#closed;
  }

  /** The listener's end: offers a ticket for a data connection when both ends can use one. */
  async #offerDataPath(): Promise<void> {
    const offer = this.#connection.dataPath?.offer;
    if (!offer || !this.peer.dataPath) return;
    const { ticket, channel, withdraw } = offer();
    this.#withdrawOffer = withdraw;
    channel.then((c) => this.#attach(c), () => {}); // never opened: blocks stay on the Session
    await this.send({ type: "dataOffer", ticket });
  }

  /** The dialling end: opens the data connection the peer offered, once per session. */
  #openDataPath(ticket: Uint8Array): void {
    const open = this.#connection.dataPath?.open;
    if (!open || !this.peer.dataPath) throw new ProtocolError("a data offer this end did not ask for");
    if (this.#dataOpening) throw new ProtocolError("a second data offer");
    this.#dataOpening = open(ticket).then((c) => this.#attach(c), (e: Error) => {
      if (!this.#leaving && !this.#closed) this.#onDataPathFailure?.(e);
    });
  }

  #attach(channel: DataChannel): void {
    if (this.#closed) return channel.close();
    this.#data = channel;
    void this.#readData(channel);
  }

  /** Reads the data connection: its end, or anything on it but blocks, ends the session. */
  async #readData(channel: DataChannel): Promise<void> {
    try {
      for await (const msg of channel.messages()) {
        if (msg.type === "blockRequest") this.#request(msg, channel);
        else this.#settle(msg as BlockResponse, channel);
      }
      this.#shutdown(new PeerUnreachableError(`${this.peer.address} closed the data connection`));
    } catch (e) {
      this.#shutdown(e as Error);
    }
  }

  /**
   * Fetches one block of a folder's file from the peer (unverified bytes). A peer that does
   * not answer within the block timeout of the request (its sending included: a stalled link
   * blocks it) is gone: the session ends with a PeerUnreachableError, which every fetch gets.
   */
  async fetchBlock(folderId: string, want: BlockWant): Promise<Uint8Array> {
    if (this.#closed) throw this.#closeReason!;
    await this.#dataOpening; // bounded by the dial's own timeout; blocks then take the faster path
    await this.#inFlight.acquire(want.size);
    const id = this.#nextId++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (this.#closed) throw this.#closeReason!;
      const route: BlockRoute = this.#data ?? this.#connection;
      const answer = new Promise<Uint8Array>((resolve, reject) => this.#pending.set(id, { route, resolve, reject }));
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const seconds = this.#blockTimeoutMs / 1000;
          const e = new PeerUnreachableError(
            `no answer from ${this.peer.address} for ${seconds} s (a block of ${want.path})`,
          );
          this.#shutdown(e);
          reject(e);
        }, this.#blockTimeoutMs);
      });
      // Every promise is raced from the start, so none can be rejected unobserved.
      const sent = route.send({ type: "blockRequest", id, folderId, ...want });
      return await Promise.race([answer, timeout, sent.then(() => answer)]);
    } finally {
      clearTimeout(timer);
      this.#pending.delete(id);
      this.#inFlight.release(want.size);
    }
  }

  /**
   * Says goodbye and waits (up to `lingerMs`) for the peer to hang up before closing, so the
   * reason reaches it: for refusals, where the peer must learn why.
   */
  async refuse(reason: string, lingerMs = 2_000): Promise<void> {
    await this.#sayGoodbye(reason);
    let timer: ReturnType<typeof setTimeout> | undefined;
    // While `run` reads the messages, its end says the peer hung up; before, drain them here.
    const drain = this.#running ? this.ended : (async () => {
      while (!(await this.#messages.next()).done) { /* ignored: the peer is refused */ }
    })().catch(() => {});
    await Promise.race([drain, new Promise((r) => timer = setTimeout(r, lingerMs))]);
    clearTimeout(timer);
    this.#shutdown(new PeerUnreachableError(`session with ${this.peer.address} closed: ${reason}`));
  }

  /** Says goodbye (best effort) and closes the connection. */
  async close(reason: string): Promise<void> {
    if (!this.#closed) await this.#sayGoodbye(reason);
    this.#shutdown(new PeerUnreachableError(`session with ${this.peer.address} closed: ${reason}`));
  }

  /** Sends a goodbye, best effort: a stalled or closed link does not hold the caller. */
  async #sayGoodbye(reason: string): Promise<void> {
    this.#leaving = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sent = this.send({ type: "goodbye", reason }).catch(() => {});
    await Promise.race([sent, new Promise((r) => timer = setTimeout(r, GOODBYE_TIMEOUT_MS))]);
    clearTimeout(timer);
  }

  #settle(msg: BlockResponse, from: BlockRoute): void {
    const waiter = this.#pending.get(msg.id);
    if (!waiter) throw new ProtocolError(`block response ${msg.id} answers no request`);
    if (waiter.route !== from) throw new ProtocolError(`block response ${msg.id} came by another connection`);
    this.#pending.delete(msg.id);
    if (msg.error === "none") waiter.resolve(msg.data);
    else waiter.reject(new BlockUnavailableError(`peer ${this.peer.address} could not serve the block: ${msg.error}`));
  }

  /** Serves a request from the peer, answering on the connection it came by. */
  #request(msg: BlockRequest, route: BlockRoute): void {
    if (this.#outstanding >= MAX_OUTSTANDING_REQUESTS) {
      throw new ProtocolError(`over ${MAX_OUTSTANDING_REQUESTS} block requests unanswered (a flood)`);
    }
    const { id, folderId, path, offset, size, hash } = msg;
    this.#outstanding++;
    void (async () => {
      await this.#serving.acquire();
      try {
        const result = await this.#serveBlock!(folderId, { path, offset, size, hash });
        if (typeof result === "string") {
          await route.send({ type: "blockResponse", id, data: new Uint8Array(), error: result });
        } else {
          // Once written to the data connection, the block's buffer may serve another request.
          await route.send({ type: "blockResponse", id, data: result, error: "none" }, () => blockBuffers.give(result));
        }
      } finally {
        this.#serving.release();
        this.#outstanding--;
      }
    })().catch((e) => {
      if (!(e instanceof PeerUnreachableError)) this.#shutdown(e);
    });
  }

  #shutdown(reason: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#ended();
    for (const waiter of this.#pending.values()) waiter.reject(reason);
    this.#pending.clear();
    this.#connection.close();
    this.#data?.close();
    this.#withdrawOffer?.();
  }
}

/** The peer answered a block request with an error code. */
export class BlockUnavailableError extends Error {}
