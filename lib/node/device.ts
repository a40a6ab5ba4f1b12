import { join, resolve } from "node:path";
import { ExitCode, type FolderMode, FsyncError, parseDeviceId, shortOfDisplayId } from "../model/mod.ts";
import {
  type BlockErrorCode,
  type Connection,
  type DeviceIdentity,
  dial,
  type FolderState,
  formatHostPort,
  type HostPort,
  inviteProof,
  listen,
  type Listener,
  loadOrCreateIdentity,
  type Message,
  PeerUnreachableError,
  PROTOCOL_VERSION,
  ProtocolError,
  proveIdentity,
} from "../net/mod.ts";
import { type FolderRecord, lockHome, prepareHome, Store } from "../store/mod.ts";
import { FolderHost, type FolderHostContext } from "./folder_host.ts";
import { type BlockWant, RateLimiter } from "../transfer/mod.ts";
import { BlockServer } from "./block_server.ts";
import {
  CONTROL_SOCKET,
  type ControlServer,
  type FolderAction,
  type FolderActionResult,
  serveControl,
} from "./control.ts";
import { collectStatus, type StatusReport, summarizeFolder } from "./status.ts";
import type { DeviceEvent, TransferTotals } from "./events.ts";
import { type FolderProblem, FolderRunner, UNWRITTEN_BYTES } from "./folder_runner.ts";
import type { DeletionThresholds } from "../plan/mod.ts";
import { Semaphore } from "./_semaphore.ts";
import { folderModeOf, policyFromDisk } from "./needs.ts";
import { storePathOf } from "./peers.ts";
import { type LogContext, type Logger, ProblemLogger, silentLogger } from "./logger.ts";
import { PeerSession, type SessionEvent } from "./session.ts";
import { FolderLinks } from "./folder_link.ts";
import { PullScheduler } from "./pull_scheduler.ts";
import { type DeviceApprover, NOT_TRUSTED, PeerAdmission, randomId } from "./peer_admission.ts";
import { sendIndex } from "./index_sender.ts";

/** Default interval of the full scan that backs up the watcher. */
const DEFAULT_SCAN_INTERVAL_MS = 3_600_000;

/** How a device is started. */
export interface DeviceOptions {
  /** State directory: KV database, device key and certificate, lock. */
  readonly home: string;
  /** Name shown to peers (default: the host name). */
  readonly name?: string;
  readonly logger?: Logger;
  /** Clock in ms since the epoch (injected by tests). */
  readonly nowMs?: () => number;
  /** Watch folders for changes as they happen (default true). */
  readonly watch?: boolean;
  /** Interval of the full scan that backs the watcher up (default one hour). */
  readonly scanIntervalMs?: number;
  /** Ignore common OS junk in every folder, besides its `.fsyncignore` (default true). */
  readonly ignoreDefaults?: boolean;
  /** Modes by folder path, overriding those stored with the folders (from the configuration and flags). */
  readonly folderModes?: ReadonlyMap<string, FolderMode>;
  /** When a scan's deletions wait for confirmation, by folder path (from the configuration; default 50 % and 100 files). */
  readonly deletionThresholds?: ReadonlyMap<string, DeletionThresholds>;
  /** Limits of block data sent to and received from all peers together, in bytes per second (absent: none). */
  readonly maxSendBytesPerSecond?: number;
  readonly maxRecvBytesPerSecond?: number;
  /** Creates the symlinks pulls make (default `Deno.symlinkSync`; a sandboxed command has them made for it). */
  readonly makeSymlink?: (target: string, path: string) => void;
}

/** A folder a peer offers to share. */
export interface ShareOffer {
  readonly folderId: string;
  readonly label: string;
  readonly fileCount: number;
  readonly totalBytes: number;
  readonly peerId: string;
  readonly peerName: string;
}

/** Decides about an offer: the absolute path to replicate into, or a reason to decline. */
export type OfferHandler = (offer: ShareOffer) => Promise<{ path: string; mode?: FolderMode } | { decline: string }>;

/** How a dialled peer is checked and how this device asks to be trusted by it. */
export interface ConnectOptions {
  /** The peer must be this device (default: the trusted peer last seen at that address, if any). */
  readonly deviceId?: Uint8Array;
  /** An invite secret from the peer, proven in the Hello. */
  readonly inviteSecret?: Uint8Array;
}

/** How often connected peers are checked against the store (a revoke from another process). */
const TRUST_CHECK_MS = 2_000;

/**
 * One running fsync device: its identity, store and folders, and a session with each
 * connected peer. The only module that knows every other; all decisions are delegated to
 * `plan`, all disk work to `scan` and `transfer`, all persistence to `store`.
 */
export class Device {
  readonly identity: DeviceIdentity;
  readonly store: Store;
  readonly name: string;
  #lock: Deno.FsFile;
  #logger: ProblemLogger;
  #nowMs: () => number;
  #folders = new Map<string, FolderRunner>();
  #sessions = new Map<string, PeerSession>();
  #offerHandler?: OfferHandler;
  #admission: PeerAdmission;
  #trustTimer?: ReturnType<typeof setInterval>;
  #listeners = new Set<(event: DeviceEvent) => void>();
  #listener?: Listener;
  #background = new Set<Promise<unknown>>();
  #links = new FolderLinks();
  #pulls: PullScheduler;
  #senders = new WeakMap<PeerSession, Set<string>>();
  /** The address this device dialled to open a session (none for sessions the peer opened). */
  #dialledAt = new WeakMap<PeerSession, string>();
  #shares = new Map<string, Set<string>>();
  #closed = false;
  #options: DeviceOptions;
  #sendLimit?: RateLimiter;
  #control?: ControlServer;
  #hosts = new Map<string, FolderHost>();
  #hostContext: FolderHostContext;
  #blockServer: BlockServer;
  /** Block data every pull of this device has fetched and not yet written. */
  #unwritten = new Semaphore(UNWRITTEN_BYTES);

  private constructor(lock: Deno.FsFile, identity: DeviceIdentity, store: Store, name: string, options: DeviceOptions) {
    this.#options = options;
    if (options.maxSendBytesPerSecond) this.#sendLimit = new RateLimiter(options.maxSendBytesPerSecond);
    this.#lock = lock;
    this.identity = identity;
    this.store = store;
    this.name = name;
    this.#nowMs = options.nowMs ?? Date.now;
    // Warnings and errors are remembered (in the store too) for `fsync status`.
    this.#logger = new ProblemLogger(
      options.logger ?? silentLogger,
      this.#nowMs,
      (problem) => store.putLastError(problem),
      (task) => void this.#track(task),
    );
    this.#blockServer = new BlockServer(store, (folderId, path) => this.#servedStale(folderId, path));
    this.#hostContext = {
      store,
      logger: this.#logger,
      nowMs: this.#nowMs,
      shortId: identity.shortId,
      ignoreDefaults: options.ignoreDefaults,
      watch: options.watch ?? true,
      scanIntervalMs: options.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS,
      unwritten: this.#unwritten,
      makeSymlink: options.makeSymlink,
      onPolicyChanged: (folderId) => this.#pullAgain(folderId),
      emit: (event) => this.#emit(event),
      track: (task) => this.#track(task),
    };
    this.#admission = new PeerAdmission(store, this.#logger, this.#nowMs);
    this.#pulls = new PullScheduler({
      links: this.#links,
      store,
      session: (peerId) => this.#sessions.get(peerId),
      runner: (folderId) => this.#folders.get(folderId),
      rescan: (runner, paths) => this.#hosts.get(runner.folder.id)!.rescan(paths),
      emit: (event) => this.#emit(event),
      track: (task) => this.#track(task),
      closed: () => this.#closed,
      recvLimit: options.maxRecvBytesPerSecond ? new RateLimiter(options.maxRecvBytesPerSecond) : undefined,
    });
  }

  /**
   * Opens (creating) the home directory and makes it private, takes its lock, loads the
   * identity and store, and starts every folder already configured there (scanning each).
   *
   * @throws {HomeLockedError} when another fsync uses the home.
   * @throws {FsyncError} (local IO) when the home cannot be created, or belongs to another user.
   */
  static async start(options: DeviceOptions): Promise<Device> {
    const home = resolve(options.home);
    const madePrivate = await prepareHome(home);
    const lock = await lockHome(home);
    const name = options.name ?? Deno.hostname();
    const identity = await loadOrCreateIdentity(home, name);
    const store = await Store.open(storePathOf(home));
    const device = new Device(lock, identity, store, name, options);
    if (madePrivate) device.#logger.warn(madePrivate);
    try {
      device.#control = await serveControl(
        join(home, CONTROL_SOCKET),
        (request) =>
          request.command === "status" ? device.status() : device.folderAction(request.folder, request.action),
      );
    } catch (e) {
      // A home path too long for a Unix socket, say: `fsync status` then reads the store.
      device.#logger.debug(`no control endpoint: ${(e as Error).message}`);
    }
    for (const folder of await store.listFolders()) await device.#startFolder(folder);
    return device;
  }

  /** Subscribes to device events; returns the unsubscribe function. */
  on(listener: (event: DeviceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sets who decides about folders peers offer (without one, offers are declined). */
  onOffer(handler: OfferHandler): void {
    this.#offerHandler = handler;
  }

  /** Sets who decides about unknown devices that connect without an invite (without one, they are refused). */
  onUnknownDevice(approver: DeviceApprover): void {
    this.#admission.approver = approver;
  }

  /**
   * Creates an invite to a folder: a secret that trusts the first `uses` devices that prove
   * it within `ttlMs`. Returns the secret; the caller adds address and device ID.
   */
  createInvite(folderId: string, uses: number, ttlMs: number): Promise<Uint8Array> {
    return this.#admission.createInvite(folderId, uses, ttlMs);
  }

  /** The folder replicated at `path`, if any. */
  async folderAt(path: string): Promise<FolderRecord | undefined> {
    const abs = resolve(path);
    return (await this.store.listFolders()).find((f) => f.path === abs);
  }

  /**
   * Adds the directory at `path` as a folder (or returns the folder already there) and
   * scans it.
   *
   * @throws {FsyncError} (local IO) when it is missing, not a directory or unreadable;
   * (usage) when it is inside another folder or holds one (each would scan, and clean up
   * after, the other's files).
   */
  async addFolder(path: string, label: string, folderId: string = randomId()): Promise<FolderRecord> {
    const abs = resolve(path);
    await checkReadableDirectory(abs);
    const folders = await this.store.listFolders();
    const existing = folders.find((f) => f.path === abs);
    if (existing) return existing;
    const inside = (a: string, b: string) => a.startsWith(b.endsWith("/") ? b : `${b}/`);
    const other = folders.find((f) => inside(abs, f.path) || inside(f.path, abs));
    if (other) {
      const how = inside(abs, other.path) ? "is inside" : "holds";
      throw new FsyncError(`${abs} ${how} the folder "${other.label}" at ${other.path}`, ExitCode.usage, {
        hint: "a folder cannot hold another; choose a directory outside it",
      });
    }
    const folder = { id: folderId, label, path: abs, indexId: randomId() };
    await this.store.putFolder(folder);
    await this.#startFolder(folder);
    return folder;
  }

  /** Sets a folder's mode, now and for the next starts (the configuration may still override it there). */
  async setFolderMode(folderId: string, mode: FolderMode): Promise<void> {
    const runner = this.#folders.get(folderId);
    if (!runner) throw new Error(`no folder ${folderId}`);
    await this.store.putFolder({ ...runner.folder, mode });
    runner.setMode(mode);
  }

  /** Offers a folder to every device that connects and does not share it yet. */
  offerToNewDevices(folderId: string): void {
    this.#admission.offered.add(folderId);
  }

  /**
   * Trusts a device with a folder, as a configuration's `share_with` does: it may connect,
   * and is offered the folder (when connected, and not shared yet). A revoked device stays
   * revoked: returns false.
   */
  trustWith(folderId: string, peerId: string): Promise<boolean> {
    return this.#admission.trustWith(folderId, peerId);
  }

  /** Number and total size of the files in a folder's local index. */
  async folderSummary(folderId: string): Promise<{ files: number; bytes: number }> {
    const { files, bytes } = await summarizeFolder(this.store, folderId);
    return { files, bytes };
  }

  /**
   * Whether this device and a connected peer hold the same versions of every folder they
   * share: each has pulled all of the other's index (this device is in sync with the peer,
   * and the peer said it applied this device's index up to its current sequence), and the
   * peer answered every offer made to it. False while nothing is shared or declined yet.
   */
  async convergedWith(peerId: string): Promise<boolean> {
    if (await this.#offersPending(peerId)) return false;
    let shared = 0;
    for (const runner of this.#folders.values()) {
      const link = this.#links.find(runner.folder.id, peerId);
      if (link?.session.announced === undefined) continue; // not shared, or not announced by the peer
      shared++;
      const { inSync, peerPulled: told, indexSent: index } = link.session;
      if (!inSync) return false;
      if (told?.indexId !== runner.folder.indexId || !index) return false;
      if (index.read < await this.store.localSequence(runner.folder.id) || told.sequence < index.sent) return false;
    }
    return shared > 0 || this.#links.ofPeer(peerId).some((l) => l.session.declined);
  }

  /** Whether the peer has yet to answer an offer, or to announce a folder shared in this session. */
  async #offersPending(peerId: string): Promise<boolean> {
    const invitedTo = (await this.store.getPeer(peerId))?.invitedTo ?? [];
    for (const folderId of this.#admission.offered) {
      if (!invitedTo.includes(folderId) || this.#links.find(folderId, peerId)?.session.declined) continue;
      if (!(await this.#isShared(folderId, peerId))) return true;
    }
    return this.#links.ofPeer(peerId).some((l) => l.session.unannounced);
  }

  /** What `fsync status` shows: folders, what is needed from whom, peers, the last problem. */
  status(): Promise<StatusReport> {
    return collectStatus(this.store, {
      running: true,
      isConnected: (deviceId) => this.isConnected(deviceId),
      policyOf: (folder) => {
        const runner = this.#folders.get(folder.id);
        return runner
          ? { mode: runner.mode, decider: runner.decider }
          : policyFromDisk(folder, this.#options.ignoreDefaults ?? true, this.#options.folderModes); // being added
      },
      lastError: this.#logger.last,
      problemOf: (folder) => this.#folders.get(folder.id)?.problem?.message,
      pathProblemsOf: (folder, limit) => this.#folders.get(folder.id)?.pathProblems(limit) ?? { count: 0, list: [] },
    });
  }

  /** Whether a session with the peer is open. */
  isConnected(peerId: string): boolean {
    return this.#sessions.has(peerId);
  }

  /**
   * Rescans a folder (by ID, or label when no folder has that ID), confirming the big
   * deletion it holds (`confirm-deletes`) or taking its root as it is, even empty
   * (`accept-empty`); answers `fsync folder` through the control socket too.
   *
   * @throws {FsyncError} (usage) when no folder has that ID or label.
   */
  async folderAction(folder: string, action: FolderAction): Promise<FolderActionResult> {
    const runners = [...this.#folders.values()];
    const runner = this.#folders.get(folder) ?? runners.find((r) => r.folder.label === folder);
    if (!runner) {
      const known = runners.map((r) => `${r.folder.id} (${r.folder.label})`).join(", ") || "none";
      throw new FsyncError(`no folder ${JSON.stringify(folder)} in this home`, ExitCode.usage, {
        hint: `its folders: ${known}`,
      });
    }
    const changes = action === "confirm-deletes"
      ? await runner.confirmDeletes()
      : action === "accept-empty"
      ? await runner.acceptEmpty()
      : await runner.scan();
    const { id, label } = runner.folder;
    return { id, label, changes, problem: runner.problem?.message ?? null };
  }

  /** Folders that do not sync as usual: stopped (root unmounted or replaced) or holding a big deletion. */
  folderProblems(): (FolderProblem & { readonly folderId: string; readonly label: string })[] {
    return [...this.#folders.values()].flatMap((r) => {
      const problem = r.problem;
      return problem ? [{ ...problem, folderId: r.folder.id, label: r.folder.label }] : [];
    });
  }

  /** Sums of what was pulled for a folder from a peer. */
  totals(folderId: string, peerId: string): TransferTotals {
    return this.#links.find(folderId, peerId)?.totals ?? { files: 0, bytesFetched: 0, bytesReused: 0 };
  }

  /**
   * Accepts peers on `address`. Returns the bound port.
   *
   * @throws {PortInUseError} when the port is taken.
   */
  async listen(address: HostPort): Promise<number> {
    this.#listener = await listen(address, this.identity, (connection) => this.#track(this.#adopt(connection, "")), {
      onWarning: (line) => this.#logger.warn(line),
    });
    return this.#listener.port;
  }

  /**
   * Connects to a peer and runs the session in the background until it ends.
   * Resolves with the session once the Hellos are exchanged.
   *
   * @throws {PeerUnreachableError} when the peer cannot be reached.
   * @throws {FsyncError} (untrusted) when the peer is not the expected device.
   */
  async connect(
    address: HostPort,
    options: ConnectOptions = {},
  ): Promise<{ session: PeerSession; done: Promise<void> }> {
    const dialled = formatHostPort(address);
    let expected = options.deviceId;
    if (!expected) {
      const known = (await this.store.listPeers()).find((p) => p.trusted && p.address === dialled);
      expected = known && parseDeviceId(known.deviceId);
    }
    const connection = await dial(address, this.identity, expected);
    let ready!: (s: PeerSession) => void;
    const sessionReady = new Promise<PeerSession>((r) => ready = r);
    const done = this.#adopt(connection, dialled, ready, options.inviteSecret);
    this.#track(done);
    const session = await Promise.race([sessionReady, done.then(() => undefined)]);
    if (!session) throw new PeerUnreachableError(`${formatHostPort(address)} closed the session during the handshake`);
    return { session, done };
  }

  /** Runs a session over an already open connection (used by tests with in-memory pairs). */
  runConnection(connection: Connection, inviteSecret?: Uint8Array): Promise<void> {
    return this.#track(this.#adopt(connection, "", undefined, inviteSecret));
  }

  /** Stops listening, ends every session, and closes the store and the home lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pulls.close();
    for (const host of this.#hosts.values()) host.close();
    clearInterval(this.#trustTimer);
    await this.#listener?.close();
    await this.#control?.close();
    await Promise.all([...this.#sessions.values()].map((s) => s.close("device shutting down")));
    await Promise.allSettled([...this.#background]);
    await this.#logger.close();
    this.store.close();
    this.#lock.close();
  }

  // --- sessions ---

  async #adopt(
    connection: Connection,
    dialled: string,
    ready?: (s: PeerSession) => void,
    inviteSecret?: Uint8Array,
  ): Promise<void> {
    let session: PeerSession;
    try {
      session = await PeerSession.open(connection, {
        type: "hello",
        deviceId: this.identity.deviceId,
        deviceName: this.name,
        protocolVersion: PROTOCOL_VERSION,
        identityProof: proveIdentity(this.identity, connection.channelBinding, connection.role),
        inviteProof: inviteSecret ? inviteProof(inviteSecret, connection.channelBinding) : new Uint8Array(),
      });
    } catch (e) {
      this.#logger.warn(`handshake with ${connection.remoteAddress} failed: ${(e as Error).message}`);
      return;
    }
    const { peer } = session;
    if (peer.deviceId === this.identity.displayId) {
      await session.close("connected to itself");
      this.#logger.warn(`${connection.remoteAddress} is this device itself; disconnected`, peerContext(peer.deviceId));
      return;
    }
    // A device this one dialled was pinned or confirmed by the caller; one that dialled in
    // must be trusted already, hold a valid invite, or be approved.
    const known = await this.store.getPeer(peer.deviceId);
    let invitedTo = known?.invitedTo ?? [];
    if (connection.role === "server") {
      const applicant = { ...peer, name: peer.deviceName, channelBinding: connection.channelBinding };
      const granted = await this.#admission.admit(applicant, known);
      if (!granted) {
        this.#logger.warn(`refused ${peer.deviceName} at ${peer.address}: ${NOT_TRUSTED}`, peerContext(peer.deviceId));
        await session.refuse(NOT_TRUSTED);
        return;
      }
      invitedTo = granted;
      connection.authenticated(); // the listener's limits on strangers end
    }
    this.#sessions.get(peer.deviceId)?.close("replaced by a newer connection");
    this.#sessions.set(peer.deviceId, session);
    this.#trustTimer ??= setInterval(() => this.#track(this.#dropUntrusted()), TRUST_CHECK_MS);
    // Dialling a device is no reason to trust it: a dialled device keeps the trust it had, and
    // an unknown one is recorded (trusted) only when this device accepts a folder it offers.
    if (dialled) this.#dialledAt.set(session, dialled);
    if (connection.role === "server" || known) {
      await this.store.putPeer({
        deviceId: peer.deviceId,
        name: peer.deviceName,
        address: dialled || known?.address || "",
        trusted: connection.role === "server" || known!.trusted,
        invitedTo,
        lastSeenMs: this.#nowMs(),
      });
    }
    this.#logger.info(
      `connected to ${peer.deviceName} (${peer.deviceId}) at ${peer.address}`,
      peerContext(peer.deviceId),
    );
    this.#emit({ type: "peer-connected", peerId: peer.deviceId, name: peer.deviceName, address: peer.address });
    ready?.(session);
    let reason = "connection closed";
    try {
      await this.#sendClusterConfig(session);
      await this.#sendOffers(session, invitedTo);
      await session.run(
        (folderId, want) => this.#serveBlock(session, folderId, want),
        (e) => this.#onEvent(session, e),
      );
    } catch (e) {
      reason = (e as Error).message;
      if (e instanceof ProtocolError) {
        this.#logger.error(
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
        this.#links.endSession(peer.deviceId);
      }
      this.#emit({ type: "peer-disconnected", peerId: peer.deviceId, reason });
      const record = await this.store.getPeer(peer.deviceId);
      if (record) await this.store.putPeer({ ...record, lastSeenMs: this.#nowMs() });
    }
  }

  /** Ends sessions with peers that are no longer trusted (revoked by `fsync revoke`). */
  async #dropUntrusted(): Promise<void> {
    for (const [peerId, session] of this.#sessions) {
      if (!(await this.#admission.isRevoked(peerId))) continue;
      this.#logger.warn(`${session.peer.deviceName} was revoked; disconnected`, peerContext(peerId));
      this.#sessions.delete(peerId);
      this.#track(session.refuse(NOT_TRUSTED));
    }
  }

  async #onEvent(session: PeerSession, event: SessionEvent): Promise<void> {
    const peerId = session.peer.deviceId;
    switch (event.type) {
      case "clusterConfig":
        for (const state of event.folders) await this.#onFolderState(session, state);
        return;
      case "shareOffer":
        return await this.#onShareOffer(session, event);
      case "shareAccept": {
        if (!this.#admission.offered.has(event.folderId)) {
          throw new ProtocolError(`accepted folder ${event.folderId} never offered`);
        }
        await this.#share(event.folderId, peerId);
        this.#logger.info(`${session.peer.deviceName} accepted the folder`, this.#context(event.folderId, peerId));
        this.#emit({ type: "share-accepted", folderId: event.folderId, peerId });
        return await this.#sendClusterConfig(session);
      }
      case "shareDecline":
        this.#links.get(event.folderId, peerId).session.declined = true;
        this.#logger.info(
          `${session.peer.deviceName} declined the folder: ${event.reason}`,
          this.#context(event.folderId, peerId),
        );
        this.#emit({ type: "share-declined", folderId: event.folderId, peerId, reason: event.reason });
        return;
      case "indexUpdate":
        return await this.#onIndexUpdate(session, event);
      case "pulled": {
        if (!await this.#isShared(event.folderId, peerId)) {
          throw new ProtocolError(`pulled folder ${event.folderId}, which is not shared with this peer`);
        }
        this.#links.get(event.folderId, peerId).session.peerPulled = {
          indexId: event.indexId,
          sequence: event.sequence,
        };
        this.#emit({ type: "peer-pulled", folderId: event.folderId, peerId });
        return;
      }
      case "goodbye":
        this.#logger.info(`${session.peer.deviceName} said goodbye: ${event.reason}`, peerContext(peerId));
        if (event.reason === NOT_TRUSTED) this.#emit({ type: "not-trusted", peerId });
        await session.close("the peer said goodbye");
        return;
    }
  }

  async #sendClusterConfig(session: PeerSession): Promise<void> {
    const folders: FolderState[] = [];
    for (const runner of this.#folders.values()) {
      const { folder } = runner;
      if (!await this.#isShared(folder.id, session.peer.deviceId)) continue;
      const seen = await this.store.remoteState(folder.id, session.peer.deviceId);
      folders.push({
        folderId: folder.id,
        label: folder.label,
        indexId: folder.indexId,
        maxSequence: await this.store.localSequence(folder.id),
        seenIndexId: seen.indexId,
        seenSequence: seen.sequence,
      });
    }
    await session.send({ type: "clusterConfig", folders });
  }

  /** Offers each folder offered here that the peer was invited or approved to, and does not share yet. */
  async #sendOffers(session: PeerSession, invitedTo: readonly string[]): Promise<void> {
    for (const folderId of this.#admission.offered) {
      if (!invitedTo.includes(folderId) || await this.#isShared(folderId, session.peer.deviceId)) continue;
      const { files, bytes } = await this.folderSummary(folderId);
      const label = this.#folders.get(folderId)!.folder.label;
      await session.send({ type: "shareOffer", folderId, label, fileCount: files, totalBytes: bytes });
    }
  }

  async #onShareOffer(session: PeerSession, offer: Extract<Message, { type: "shareOffer" }>): Promise<void> {
    const { peer } = session;
    if (await this.#isShared(offer.folderId, peer.deviceId)) return;
    const answer = this.#offerHandler
      ? await this.#offerHandler({ ...offer, peerId: peer.deviceId, peerName: peer.deviceName })
      : { decline: "this device is not accepting new folders" };
    if ("decline" in answer) {
      await session.send({ type: "shareDecline", folderId: offer.folderId, reason: answer.decline });
      return;
    }
    let folder = await this.store.getFolder(offer.folderId);
    try {
      const other = await this.folderAt(answer.path);
      if (!folder && other) {
        throw new FsyncError(`${other.path} already holds another folder ("${other.label}")`, ExitCode.usage, {
          hint: "join into a different directory",
        });
      }
      folder ??= await this.addFolder(answer.path, offer.label, offer.folderId);
      if (answer.mode) await this.setFolderMode(folder.id, answer.mode);
    } catch (e) {
      if (!(e instanceof FsyncError)) throw e;
      this.#logger.error(`cannot accept the folder: ${e.message}`, {
        folder: offer.label,
        ...peerContext(peer.deviceId),
      });
      this.#emit({ type: "offer-failed", folderId: offer.folderId, peerId: peer.deviceId, error: e });
      await session.send({ type: "shareDecline", folderId: offer.folderId, reason: "the replica folder is unusable" });
      return;
    }
    await this.#share(folder.id, peer.deviceId);
    await this.#admission.trustOfferer(session.peer, this.#dialledAt.get(session));
    await session.send({ type: "shareAccept", folderId: folder.id });
    await this.#sendClusterConfig(session);
  }

  async #onFolderState(session: PeerSession, state: FolderState): Promise<void> {
    const peerId = session.peer.deviceId;
    const runner = this.#folders.get(state.folderId);
    if (!runner || !await this.#isShared(state.folderId, peerId)) return;
    const held = await this.store.remoteState(state.folderId, peerId);
    if (held.indexId !== state.indexId) await this.store.resetRemote(state.folderId, peerId, state.indexId);
    const pair = { folderId: state.folderId, peerId };
    const link = this.#links.get(state.folderId, peerId);
    link.session.unannounced = false;
    link.session.announced = state.maxSequence;
    let senders = this.#senders.get(session);
    if (!senders) this.#senders.set(session, senders = new Set());
    if (!senders.has(state.folderId)) {
      // One sender per folder and session, however often the peer repeats its ClusterConfig.
      senders.add(state.folderId);
      const from = state.seenIndexId === runner.folder.indexId ? state.seenSequence : 0;
      const progress = { read: from, sent: from };
      link.session.indexSent = progress;
      const sender = { store: this.store, shortId: this.identity.shortId, closed: () => this.#closed };
      this.#track(sendIndex(sender, session, runner, progress));
    }
    this.#pulls.schedule(pair);
  }

  async #onIndexUpdate(session: PeerSession, update: Extract<Message, { type: "indexUpdate" }>): Promise<void> {
    const peerId = session.peer.deviceId;
    const { folderId, files } = update;
    if (!this.#folders.has(folderId) || !await this.#isShared(folderId, peerId)) {
      throw new ProtocolError(`index update for folder ${folderId}, which is not shared with this peer`);
    }
    const held = await this.store.remoteState(folderId, peerId);
    const sequence = files.length > 0 ? Math.max(held.sequence, files[files.length - 1].sequence) : held.sequence;
    await this.store.applyRemote(folderId, peerId, files, { indexId: held.indexId, sequence });
    this.#links.get(folderId, peerId).session.announced = update.maxSequence;
    this.#pulls.schedule({ folderId, peerId });
  }

  async #serveBlock(session: PeerSession, folderId: string, want: BlockWant): Promise<Uint8Array | BlockErrorCode> {
    const runner = this.#folders.get(folderId);
    if (!runner || !await this.#isShared(folderId, session.peer.deviceId)) return "invalid-request";
    try {
      // Before reading: requests waiting for their turn hold no data.
      await this.#sendLimit?.take(want.size);
      return await this.#blockServer.serve(folderId, runner.folder.path, want);
    } catch (e) {
      this.#logger.warn(
        `cannot read ${want.path} for ${session.peer.deviceName}: ${(e as Error).message}`,
        this.#context(folderId, session.peer.deviceId),
      );
      return "read-failed";
    }
  }

  /** A file was found changed while serving it: its folder rescans it. */
  #servedStale(folderId: string, path: string): void {
    this.#hosts.get(folderId)?.servedStale(path);
  }

  // --- shares ---

  /** Whether `folderId` is shared with `peerId` (read from KV once per folder, then kept in memory). */
  async #isShared(folderId: string, peerId: string): Promise<boolean> {
    let peers = this.#shares.get(folderId);
    if (!peers) this.#shares.set(folderId, peers = new Set(await this.store.sharesOf(folderId)));
    return peers.has(peerId);
  }

  /** Shares a folder with a connected peer, which is then to announce it in its ClusterConfig. */
  async #share(folderId: string, peerId: string): Promise<void> {
    const link = this.#links.get(folderId, peerId);
    if (link.session.announced === undefined) link.session.unannounced = true;
    await this.store.addShare(folderId, peerId);
    if (!(await this.#isShared(folderId, peerId))) this.#shares.get(folderId)!.add(peerId);
  }

  // --- folders and pulls ---

  async #startFolder(folder: FolderRecord): Promise<void> {
    const mode = folderModeOf(folder, this.#options.folderModes);
    const host = new FolderHost(folder, this.#hostContext, mode, this.#options.deletionThresholds?.get(folder.path));
    this.#hosts.set(folder.id, host);
    this.#folders.set(folder.id, host.runner);
    await host.start(); // fails with a clear FsyncError when the folder is gone
  }

  /** Pulls a folder from every connected peer sharing it (what it takes from them changed). */
  #pullAgain(folderId: string): void {
    this.#track((async () => {
      for (const peerId of this.#sessions.keys()) {
        if (await this.#isShared(folderId, peerId)) this.#pulls.schedule({ folderId, peerId });
      }
    })());
  }

  // --- plumbing ---

  /** The log context of a folder (by label) and a peer. */
  #context(folderId: string, peerId: string): LogContext {
    return { folder: this.#folders.get(folderId)?.folder.label ?? folderId, ...peerContext(peerId) };
  }

  #emit(event: DeviceEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** Keeps a background task owned: awaited at close, its failure logged. */
  #track<T>(task: Promise<T>): Promise<T> {
    const owned = task.catch((e) => {
      this.#logger.error(`internal error: ${(e as Error).stack ?? e}`);
      throw e;
    });
    this.#background.add(owned);
    owned.catch(() => {}).finally(() => this.#background.delete(owned));
    return owned;
  }
}

/** The log context naming a peer by its short device ID. */
function peerContext(deviceId: string): LogContext {
  return { peer: shortOfDisplayId(deviceId) };
}

/**
 * @throws {FsyncError} (local IO) when `path` is missing, not a directory or unreadable.
 */
async function checkReadableDirectory(path: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new FsyncError(`folder ${path} does not exist`, ExitCode.io);
    throw new FsyncError(`cannot access folder ${path}: ${(e as Error).message}`, ExitCode.io, { cause: e });
  }
  if (!st.isDirectory) throw new FsyncError(`${path} is not a directory`, ExitCode.io);
  try {
    for await (const _ of Deno.readDir(path)) break;
  } catch (e) {
    throw new FsyncError(`cannot read folder ${path}: ${(e as Error).message}`, ExitCode.io, { cause: e });
  }
}
