import { join, resolve } from "node:path";
import { ExitCode, type FolderMode, FsyncError, parseDeviceId, Semaphore, shortOfDisplayId } from "../model/mod.ts";
import {
  type Connection,
  type DeviceIdentity,
  dial,
  formatHostPort,
  type HostPort,
  inviteProof,
  listen,
  type Listener,
  loadOrCreateIdentity,
  PeerSession,
  PeerUnreachableError,
  PROTOCOL_VERSION,
  ProtocolError,
  proveIdentity,
} from "../net/mod.ts";
import { type FolderRecord, lockHome, prepareHome, Store } from "../store/mod.ts";
import { FolderHost, type FolderHostContext } from "./folder_host.ts";
import { type DialTarget, dialTargets } from "./reconnect.ts";
import { RateLimiter } from "../transfer/mod.ts";
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
import { type DeletionThresholds, folderModeOf } from "../plan/mod.ts";

import { policyFromDisk } from "./needs.ts";
import { storePathOf } from "./peers.ts";
import { type LogContext, type Logger, ProblemLogger, silentLogger } from "./logger.ts";

import { FolderLinks } from "./folder_link.ts";
import { PullScheduler } from "./pull_scheduler.ts";
import { type OfferHandler, PeerProtocol } from "./peer_protocol.ts";
import { Shares } from "./shares.ts";
import { type DeviceApprover, NOT_TRUSTED, PeerAdmission, randomId } from "./peer_admission.ts";

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
  /** The address this device dialled to open a session (none for sessions the peer opened). */
  #dialledAt = new WeakMap<PeerSession, string>();
  #shares: Shares;
  #protocol: PeerProtocol;
  #closed = false;
  #options: DeviceOptions;
  #control?: ControlServer;
  #hosts = new Map<string, FolderHost>();
  #hostContext: FolderHostContext;
  /** Block data every pull of this device has fetched and not yet written. */
  #unwritten = new Semaphore(UNWRITTEN_BYTES);

  private constructor(lock: Deno.FsFile, identity: DeviceIdentity, store: Store, name: string, options: DeviceOptions) {
    this.#options = options;
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
    this.#shares = new Shares(store, this.#links);
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
    this.#protocol = new PeerProtocol({
      store,
      logger: this.#logger,
      shortId: identity.shortId,
      folders: this.#folders,
      links: this.#links,
      shares: this.#shares,
      admission: this.#admission,
      pulls: this.#pulls,
      blockServer: new BlockServer(store, (folderId, path) => this.#hosts.get(folderId)?.servedStale(path)),
      sendLimit: options.maxSendBytesPerSecond ? new RateLimiter(options.maxSendBytesPerSecond) : undefined,
      dialledAt: this.#dialledAt,
      device: this,
      offerHandler: () => this.#offerHandler,
      emit: (event) => this.#emit(event),
      track: (task) => this.#track(task),
      closed: () => this.#closed,
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

  /** The home's folders. */
  folders(): Promise<FolderRecord[]> {
    return this.store.listFolders();
  }

  /**
   * Whom to dial: the trusted peers this device remembers an address for, and `configured`
   * peers (a configuration's, pinned by their device ID when it is given).
   */
  dialTargets(
    configured: readonly { readonly address: HostPort; readonly deviceId?: string }[],
  ): Promise<DialTarget[]> {
    return dialTargets(this.store, configured);
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
      if (!(await this.#shares.has(folderId, peerId))) return true;
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
      await this.#protocol.sendClusterConfig(session);
      await this.#protocol.sendOffers(session, invitedTo);
      await session.run(
        (folderId, want) => this.#protocol.serveBlock(session, folderId, want),
        (e) => this.#protocol.onEvent(session, e),
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
        if (await this.#shares.has(folderId, peerId)) this.#pulls.schedule({ folderId, peerId });
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
