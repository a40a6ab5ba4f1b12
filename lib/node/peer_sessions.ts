import {
  DEFAULT_PORT,
  equalBytes,
  formatHostPort,
  type HostPort,
  parseDeviceId,
  shortOfDisplayId,
} from "../model/mod.ts";
import {
  type Connection,
  type DeviceIdentity,
  dial,
  inviteProof,
  listen,
  type Listener,
  OwnAddressError,
  PeerSession,
  PeerUnreachableError,
  PortInUseError,
  PROTOCOL_VERSION,
  ProtocolError,
  proveIdentity,
  UntrustedPeerError,
} from "../net/mod.ts";
import type { Store } from "../store/mod.ts";
import type { DeviceEvent } from "./events.ts";
import type { FolderLinks } from "./folder_link.ts";
import type { LogContext, Logger } from "./logger.ts";
import { NOT_TRUSTED, type PeerAdmission } from "./peer_admission.ts";
import type { PeerProtocol } from "./peer_protocol.ts";

/** How often connected peers are checked against the store (a revoke from another process). */
const TRUST_CHECK_MS = 2_000;
/** Ports tried from DEFAULT_PORT on when no listen address is given, before any free port. */
const DEFAULT_PORTS_TRIED = 20;
/**
 * Two sessions with one peer that began within this time of each other, one dialled by each
 * side, are taken for a simultaneous dial: both sides keep the one the smaller device ID
 * dialled. Past it, a newer session replaces the older (the peer restarted; the old one is dead).
 */
const SIMULTANEOUS_MS = 10_000;
/** The Goodbye reason of the session a simultaneous dial gives up. */
export const DUPLICATE_SESSION = "duplicate session: the other one, dialled at the same time, is kept";

/** What the sessions of a device use of it. */
export interface PeerSessionsContext {
  readonly identity: DeviceIdentity;
  /** This device's name, said in the Hello. */
  readonly name: string;
  readonly store: Store;
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** Blocks may travel on a data connection beside each session. */
  readonly dataPath: boolean;
  readonly admission: PeerAdmission;
  readonly links: FolderLinks;
  /** What is said and answered in a session once it is open. */
  protocol(): PeerProtocol;
  /** A connected peer was revoked (its session is ended). */
  onRevoked(peerId: string): void;
  emit(event: DeviceEvent): void;
  /** Owns a background task (awaited at close, its failure logged). */
  track<T>(task: Promise<T>): Promise<T>;
}

/**
 * The open sessions of a device, one per peer: accepting and dialling connections, the
 * Hello exchange and admission, recording the peer, running the protocol until the session
 * ends, and dropping peers revoked meanwhile. A newer session with a peer replaces the older.
 */
export class PeerSessions {
  #ctx: PeerSessionsContext;
  #sessions = new Map<string, PeerSession>();
  /** The address this device dialled to open a session (none for sessions the peer opened). */
  #dialledAt = new WeakMap<PeerSession, string>();
  /** When each session was admitted, and which device dialled it. */
  #opened = new WeakMap<PeerSession, { atMs: number; dialler: string }>();
  #listener?: Listener;
  #listenAddress?: string;
  /** Set once `close` began: a session whose handshake ends later is closed at once. */
  #closing = false;
  #trustTimer?: ReturnType<typeof setInterval>;

  constructor(ctx: PeerSessionsContext) {
    this.#ctx = ctx;
  }

  /** The open session with a peer, if any. */
  get(peerId: string): PeerSession | undefined {
    return this.#sessions.get(peerId);
  }

  /** The device IDs of the connected peers. */
  peerIds(): IterableIterator<string> {
    return this.#sessions.keys();
  }

  /** The address this device dialled to open `session` (undefined when the peer dialled in). */
  dialledAt(session: PeerSession): string | undefined {
    return this.#dialledAt.get(session);
  }

  /**
   * Accepts peers on `address`, or without one on port 50051 of every interface or the next
   * free port after it. Returns the bound port.
   *
   * @throws {PortInUseError} when the given address's port is taken.
   */
  async listen(address?: HostPort): Promise<number> {
    if (address) return await this.#listenOn(address);
    for (let port = DEFAULT_PORT; port < DEFAULT_PORT + DEFAULT_PORTS_TRIED; port++) {
      try {
        return await this.#listenOn({ host: "0.0.0.0", port });
      } catch (e) {
        if (!(e instanceof PortInUseError)) throw e;
      }
    }
    return await this.#listenOn({ host: "0.0.0.0", port: 0 });
  }

  /** Where this device accepts sessions (`host:port`), if it listens. */
  listenAddresses(): string[] {
    return this.#listenAddress ? [this.#listenAddress] : [];
  }

  async #listenOn(address: HostPort): Promise<number> {
    this.#listener = await listen(address, this.#ctx.identity, (c) => this.#ctx.track(this.adopt(c, "")), {
      onWarning: (line) => this.#ctx.logger.warn(line),
      dataPath: this.#ctx.dataPath,
    });
    this.#listenAddress = formatHostPort({ host: address.host, port: this.#listener.port });
    return this.#listener.port;
  }

  /**
   * Dials a peer and runs the session in the background; resolves with it once the Hellos
   * are exchanged. Without `expected`, the trusted peer last seen at that address is pinned.
   *
   * @throws {PeerUnreachableError} when the peer cannot be reached or closes during the handshake.
   */
  async connect(
    address: HostPort,
    expected?: Uint8Array,
    inviteSecret?: Uint8Array,
  ): Promise<{ session: PeerSession; done: Promise<void> }> {
    const dialled = formatHostPort(address);
    if (!expected) {
      const known = (await this.#ctx.store.listPeers()).find((p) => p.trusted && p.address === dialled);
      expected = known && parseDeviceId(known.deviceId);
    }
    if (this.#closing) throw new PeerUnreachableError(`not dialling ${dialled}: this device is shutting down`);
    const own = this.#ctx.identity.deviceId;
    const ownAddress = () =>
      new OwnAddressError(`${dialled} is this device`, { hint: "dial another device's address" });
    let connection: Connection;
    try {
      connection = await dial(address, this.#ctx.identity, expected, { dataPath: this.#ctx.dataPath });
    } catch (e) {
      if (e instanceof UntrustedPeerError && e.answeredBy && equalBytes(e.answeredBy, own)) throw ownAddress();
      throw e;
    }
    if (equalBytes(connection.peer.deviceId, own)) {
      connection.close();
      throw ownAddress();
    }
    let ready!: (s: PeerSession) => void;
    const sessionReady = new Promise<PeerSession>((r) => ready = r);
    const done = this.adopt(connection, dialled, ready, inviteSecret);
    this.#ctx.track(done);
    const session = await Promise.race([sessionReady, done.then(() => undefined)]);
    if (!session) throw new PeerUnreachableError(`${dialled} closed the session during the handshake`);
    return { session, done };
  }

  /**
   * Runs a session over an open connection until it ends: Hellos, admission of a peer that
   * dialled in (`dialled` empty), recording the peer, then the protocol. `ready` is called
   * once the session is admitted.
   */
  async adopt(
    connection: Connection,
    dialled: string,
    ready?: (s: PeerSession) => void,
    inviteSecret?: Uint8Array,
  ): Promise<void> {
    const { identity, store, logger, admission } = this.#ctx;
    let session: PeerSession;
    try {
      session = await PeerSession.open(connection, {
        type: "hello",
        deviceId: identity.deviceId,
        deviceName: this.#ctx.name,
        protocolVersion: PROTOCOL_VERSION,
        identityProof: proveIdentity(identity, connection.channelBinding, connection.role),
        inviteProof: inviteSecret ? inviteProof(inviteSecret, connection.channelBinding) : new Uint8Array(),
        dataPath: connection.dataPath !== undefined,
      }, {
        onDataPathFailure: (e) =>
          logger.warn(`blocks from ${connection.remoteAddress} stay on the session: ${e.message}`),
      });
    } catch (e) {
      logger.warn(`handshake with ${connection.remoteAddress} failed: ${(e as Error).message}`);
      return;
    }
    const { peer } = session;
    if (this.#closing) {
      // Its handshake ended after close() ended the others: nothing would end this one.
      await session.close("device shutting down");
      return;
    }
    if (peer.deviceId === identity.displayId) {
      await session.close("connected to itself");
      logger.warn(`${connection.remoteAddress} is this device itself; disconnected`, peerContext(peer.deviceId));
      return;
    }
    // A device this one dialled was pinned or confirmed by the caller; one that dialled in
    // must be trusted already, hold a valid invite, or be approved.
    const known = await store.getPeer(peer.deviceId);
    let invitedTo = known?.invitedTo ?? [];
    if (connection.role === "server") {
      const applicant = { ...peer, name: peer.deviceName, channelBinding: connection.channelBinding };
      const granted = await admission.admit(applicant, known);
      if (!granted) {
        const why = known?.trusted === false
          ? "it was revoked"
          : "no valid invite, not approved (to let it in: fsync share DIR --accept " +
            `${peer.deviceId}, or list it in share_with in config.toml)`;
        logger.warn(
          `refused ${peer.deviceName} (${peer.deviceId}) at ${peer.address}: ${why}`,
          peerContext(peer.deviceId),
        );
        await session.refuse(NOT_TRUSTED);
        return;
      }
      invitedTo = granted;
      connection.authenticated(); // the listener's limits on strangers end
    }
    if (this.#closing) {
      await session.close("device shutting down");
      return;
    }
    const dialler = connection.role === "client" ? identity.displayId : peer.deviceId;
    const existing = this.#sessions.get(peer.deviceId);
    const simultaneous = existing && this.#simultaneous(existing, dialler);
    if (simultaneous && this.#opened.get(existing)!.dialler < dialler) {
      await session.close(DUPLICATE_SESSION);
      logger.debug(
        `closed a second session with ${peer.deviceName}, dialled at the same time`,
        peerContext(peer.deviceId),
      );
      return;
    }
    existing?.close(simultaneous ? DUPLICATE_SESSION : "replaced by a newer connection");
    this.#sessions.set(peer.deviceId, session);
    this.#opened.set(session, { atMs: this.#ctx.nowMs(), dialler });
    this.#trustTimer ??= setInterval(() => this.#ctx.track(this.#dropUntrusted()), TRUST_CHECK_MS);
    // Dialling a device is no reason to trust it: a dialled device keeps the trust it had, and
    // an unknown one is recorded (trusted) only when this device accepts a folder it offers.
    if (dialled) this.#dialledAt.set(session, dialled);
    if (connection.role === "server" || known) {
      await store.putPeer({
        ...known,
        deviceId: peer.deviceId,
        name: peer.deviceName,
        address: dialled || known?.address || "",
        trusted: connection.role === "server" || known!.trusted,
        invitedTo,
        lastSeenMs: this.#ctx.nowMs(),
      });
    }
    logger.info(`connected to ${peer.deviceName} (${peer.deviceId}) at ${peer.address}`, peerContext(peer.deviceId));
    this.#ctx.emit({ type: "peer-connected", peerId: peer.deviceId, name: peer.deviceName, address: peer.address });
    ready?.(session);
    await this.#run(session, invitedTo);
  }

  /**
   * Whether a new session with a peer, dialled by `dialler`, and the `existing` one come from
   * a simultaneous dial: each side dialled one, within SIMULTANEOUS_MS. Both sides then keep
   * the session the smaller device ID dialled, so they keep the same one.
   */
  #simultaneous(existing: PeerSession, dialler: string): boolean {
    const opened = this.#opened.get(existing);
    return opened !== undefined && opened.dialler !== dialler && this.#ctx.nowMs() - opened.atMs <= SIMULTANEOUS_MS;
  }

  /** Runs the protocol of an admitted session until it ends, then forgets the session. */
  async #run(session: PeerSession, invitedTo: readonly string[]): Promise<void> {
    const { peer } = session;
    const protocol = this.#ctx.protocol();
    let reason = "connection closed";
    try {
      await protocol.sendClusterConfig(session);
      await protocol.sendOffers(session, invitedTo);
      await session.run(
        (folderId, want) => protocol.serveBlock(session, folderId, want),
        (e) => protocol.onEvent(session, e),
      );
    } catch (e) {
      reason = (e as Error).message;
      if (e instanceof ProtocolError) {
        this.#ctx.logger.error(
          `${peer.deviceName} at ${peer.address} broke the protocol: ${reason}; disconnected`,
          peerContext(peer.deviceId),
        );
        await session.close(`protocol error: ${reason}`);
      } else if (!(e instanceof PeerUnreachableError)) {
        await session.close("internal error");
        throw e;
      }
    } finally {
      // A newer session with the same peer may have replaced this one: its state stays.
      if (this.#sessions.get(peer.deviceId) === session) {
        this.#sessions.delete(peer.deviceId);
        this.#ctx.links.endSession(peer.deviceId);
      }
      this.#ctx.emit({ type: "peer-disconnected", peerId: peer.deviceId, reason });
      const record = await this.#ctx.store.getPeer(peer.deviceId);
      if (record) await this.#ctx.store.putPeer({ ...record, lastSeenMs: this.#ctx.nowMs() });
    }
  }

  /** Ends sessions with peers that are no longer trusted (revoked by `fsync revoke`). */
  async #dropUntrusted(): Promise<void> {
    for (const [peerId, session] of this.#sessions) {
      if (!(await this.#ctx.admission.isRevoked(peerId))) continue;
      this.#ctx.logger.warn(`${session.peer.deviceName} was revoked; disconnected`, peerContext(peerId));
      this.#sessions.delete(peerId);
      this.#ctx.onRevoked(peerId);
      this.#ctx.track(session.refuse(NOT_TRUSTED));
    }
  }

  /** Stops listening and ends every session. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#trustTimer);
    await this.#listener?.close();
    await Promise.all([...this.#sessions.values()].map((s) => s.close("device shutting down")));
  }
}

/** The log context naming a peer by its short device ID. */
function peerContext(deviceId: string): LogContext {
  return { peer: shortOfDisplayId(deviceId) };
}
