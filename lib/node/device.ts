import { join, resolve } from "node:path";
import { type FileInfo, type FolderMode, type HostPort, Semaphore } from "../model/mod.ts";
import {
  type Connection,
  type DeviceIdentity,
  DISCOVERY_PORT,
  type LanDiscovery,
  loadOrCreateIdentity,
  type PeerSession,
} from "../net/mod.ts";
import {
  CONTROL_SOCKET,
  type FolderRecord,
  lockHome,
  type PeerRecord,
  prepareHome,
  Store,
  storePathOf,
} from "../store/mod.ts";
import { RateLimiter } from "../transfer/mod.ts";
import { BlockServer } from "./block_server.ts";
import { type ControlServer, type FolderAction, type FolderActionResult, serveControl } from "./control.ts";
import { convergedWith } from "./convergence.ts";
import { Dialer } from "./dialer.ts";
import { type DiscoveryOptions, startDiscovery } from "./discovery.ts";
import type { DeviceEvent, TransferTotals } from "./events.ts";
import { FolderLinks } from "./folder_link.ts";
import { Introductions } from "./introductions.ts";
import { type FolderProblem, UNWRITTEN_BYTES } from "./folder_runner.ts";
import { Folders } from "./folders.ts";
import { ProblemLogger, silentLogger } from "./logger.ts";
import { NeedCounts } from "./need_counts.ts";
import { type DeviceApprover, PeerAdmission } from "./peer_admission.ts";
import { type OfferHandler, PeerProtocol } from "./peer_protocol.ts";
import { PeerSessions } from "./peer_sessions.ts";
import { PullScheduler } from "./pull_scheduler.ts";
import { type DialTarget, dialTargets } from "./reconnect.ts";
import type { ConnectOptions, DeviceOptions } from "./device_options.ts";
import { Shares } from "./shares.ts";
import { collectStatus, type StatusReport } from "./status.ts";

/** Default interval of the full scan that backs up the watcher. */
const DEFAULT_SCAN_INTERVAL_MS = 3_600_000;

/**
 * One running fsync device: its identity, store and folders, and a session with each
 * connected peer. Wiring only: folders live in `Folders`, sessions in `PeerSessions`, what
 * is said in them in `PeerProtocol`, whom to trust in `PeerAdmission`, pulls in
 * `PullScheduler`; decisions are made in lib/plan, persistence in lib/store.
 */
export class Device {
  readonly identity: DeviceIdentity;
  readonly name: string;
  #store: Store;
  #lock: Deno.FsFile;
  #logger: ProblemLogger;
  #folders: Folders;
  #sessions: PeerSessions;
  #admission: PeerAdmission;
  #links = new FolderLinks();
  #shares: Shares;
  #pulls: PullScheduler;
  #needs: NeedCounts;
  #offerHandler?: OfferHandler;
  #listeners = new Set<(event: DeviceEvent) => void>();
  #background = new Set<Promise<unknown>>();
  #control?: ControlServer;
  #discovery?: LanDiscovery;
  #dialer?: Dialer;
  #closed = false;

  private constructor(lock: Deno.FsFile, identity: DeviceIdentity, store: Store, name: string, options: DeviceOptions) {
    this.#lock = lock;
    this.identity = identity;
    this.#store = store;
    this.name = name;
    const nowMs = options.nowMs ?? Date.now;
    const emit = (event: DeviceEvent) => this.#emit(event);
    const track = <T>(task: Promise<T>) => this.#track(task);
    const closed = () => this.#closed;
    // Warnings and errors are remembered (in the store too) for `fsync status`.
    const logger = this.#logger = new ProblemLogger(
      options.logger ?? silentLogger,
      nowMs,
      (problem) => store.putLastError(problem),
      (task) => void track(task),
    );
    this.#folders = new Folders({
      store,
      logger,
      nowMs,
      shortId: identity.shortId,
      ignoreDefaults: options.ignoreDefaults,
      watch: options.watch ?? true,
      scanIntervalMs: options.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS,
      unwritten: new Semaphore(UNWRITTEN_BYTES),
      makeSymlink: options.makeSymlink,
      onPolicyChanged: (folderId) => this.#pullAgain(folderId),
      emit,
      track,
    }, options);
    const folders = this.#folders;
    this.#admission = new PeerAdmission(store, logger, nowMs);
    this.#shares = new Shares(store, this.#links);
    this.#needs = new NeedCounts(store);
    this.#pulls = new PullScheduler({
      links: this.#links,
      store,
      logger,
      session: (peerId) => this.#sessions.get(peerId),
      sharingPeers: async (folderId) => {
        const sharing: string[] = [];
        for (const peerId of [...this.#sessions.peerIds()]) {
          if (await this.#shares.has(folderId, peerId)) sharing.push(peerId);
        }
        return sharing;
      },
      runner: (folderId) => folders.runners.get(folderId),
      rescan: (runner, paths) => folders.host(runner.folder.id)!.rescan(paths),
      emit,
      track,
      closed,
      recvLimit: options.maxRecvBytesPerSecond ? new RateLimiter(options.maxRecvBytesPerSecond) : undefined,
    });
    const protocol = new PeerProtocol({
      store,
      logger,
      shortId: identity.shortId,
      folders: folders.runners,
      links: this.#links,
      shares: this.#shares,
      admission: this.#admission,
      introductions: new Introductions({ store, shares: this.#shares, logger, selfId: identity.displayId, emit }),
      pulls: this.#pulls,
      blockServer: new BlockServer(store, (folderId, path) => folders.host(folderId)?.servedStale(path)),
      sendLimit: options.maxSendBytesPerSecond ? new RateLimiter(options.maxSendBytesPerSecond) : undefined,
      dialledAt: (session) => this.#sessions.dialledAt(session),
      sessionWith: (peerId) => this.#sessions.get(peerId),
      listenAddresses: () => this.#sessions.listenAddresses(),
      device: this,
      offerHandler: () => this.#offerHandler,
      emit,
      track,
      closed,
    });
    this.#sessions = new PeerSessions({
      identity,
      name,
      store,
      logger,
      nowMs,
      dataPath: options.dataPath ?? true,
      admission: this.#admission,
      links: this.#links,
      protocol: () => protocol,
      onRevoked: (peerId) => {
        for (const runner of folders.runners.values()) runner.forgetPeer(peerId);
        this.#needs.forgetPeer(peerId);
      },
      emit,
      track,
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
    for (const folder of await store.listFolders()) await device.#folders.start(folder);
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
    return this.#store.listFolders();
  }

  /** The files, directories, symlinks and deletions of a folder's local index, in path order. */
  localIndex(folderId: string): AsyncIterable<FileInfo> {
    return this.#store.listLocal(folderId);
  }

  /** What this device knows of another: name, address, trust, folders it was invited to. */
  peer(deviceId: string): Promise<PeerRecord | undefined> {
    return this.#store.getPeer(deviceId);
  }

  /**
   * Stops trusting a device, as `fsync revoke` does: its session ends within seconds and it
   * is not admitted again.
   */
  async revoke(deviceId: string): Promise<void> {
    await this.#store.revokePeer(deviceId);
  }

  /**
   * Whom to dial: the trusted peers this device remembers an address for, and `configured`
   * peers (a configuration's, pinned by their device ID when it is given).
   */
  dialTargets(
    configured: readonly { readonly address: HostPort; readonly deviceId?: string }[],
  ): Promise<DialTarget[]> {
    return dialTargets(this.#store, configured);
  }

  /** The folder replicated at `path`, if any. */
  folderAt(path: string): Promise<FolderRecord | undefined> {
    return this.#folders.at(path);
  }

  /**
   * Adds the directory at `path` as a folder (or returns the folder already there) and
   * scans it.
   *
   * @throws {FsyncError} (local IO) when it is missing, not a directory or unreadable;
   * (usage) when it is inside another folder or holds one.
   */
  addFolder(path: string, label: string, folderId?: string): Promise<FolderRecord> {
    return this.#folders.add(path, label, folderId);
  }

  /**
   * Turns a folder's introductions on or off (`--no-introduce`): whether this device tells the
   * folder's devices about each other and trusts devices introduced for it.
   */
  setIntroduce(folderId: string, on: boolean): Promise<void> {
    return this.#folders.setIntroduce(folderId, on);
  }

  /** Sets a folder's mode, now and for the next starts (the configuration may still override it there). */
  setFolderMode(folderId: string, mode: FolderMode): Promise<void> {
    return this.#folders.setMode(folderId, mode);
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
  folderSummary(folderId: string): Promise<{ files: number; bytes: number }> {
    return this.#folders.summary(folderId);
  }

  /**
   * Whether this device and a connected peer hold the same versions of every folder they
   * share, and the peer answered every offer made to it (see `convergedWith` in convergence.ts).
   */
  convergedWith(peerId: string): Promise<boolean> {
    return convergedWith({
      store: this.#store,
      runners: this.#folders.runners,
      links: this.#links,
      shares: this.#shares,
      offered: this.#admission.offered,
    }, peerId);
  }

  /** What `fsync status` shows: folders, what is needed from whom, peers, the last problem. */
  status(): Promise<StatusReport> {
    const folders = this.#folders;
    return collectStatus(this.#store, {
      running: true,
      isConnected: (deviceId) => this.isConnected(deviceId),
      policyOf: (folder) => folders.policyOf(folder),
      needsOf: (folder, peerId) => {
        const runner = folders.runners.get(folder.id);
        const policy = runner && { decider: runner.decider, generation: runner.policyGeneration };
        return policy && this.#needs.needs(folder.id, peerId, policy);
      },
      bytesSentTo: (folder, peerId) => this.#links.find(folder.id, peerId)?.bytesSent ?? 0,
      lastError: this.#logger.last,
      problemOf: (folder) => folders.runners.get(folder.id)?.problem?.message,
      pathProblemsOf: (folder, limit) => folders.runners.get(folder.id)?.pathProblems(limit) ?? { count: 0, list: [] },
    });
  }

  /** Whether a session with the peer is open. */
  isConnected(peerId: string): boolean {
    return this.#sessions.get(peerId) !== undefined;
  }

  /**
   * Rescans a folder (by ID, or label when no folder has that ID), confirming the big
   * deletion it holds (`confirm-deletes`) or taking its root as it is, even empty
   * (`accept-empty`); answers `fsync folder` through the control socket too.
   *
   * @throws {FsyncError} (usage) when no folder has that ID or label.
   */
  folderAction(folder: string, action: FolderAction): Promise<FolderActionResult> {
    return this.#folders.act(folder, action);
  }

  /** Folders that do not sync as usual: stopped (root unmounted or replaced) or holding a big deletion. */
  folderProblems(): (FolderProblem & { readonly folderId: string; readonly label: string })[] {
    return this.#folders.problems();
  }

  /**
   * Remembers why the command using this device failed as the last problem `fsync status`
   * shows (saved by close), without logging it: the command reports it itself.
   */
  recordFailure(message: string): void {
    this.#logger.remember(message);
  }

  /** Sums of what was pulled for a folder from a peer. */
  totals(folderId: string, peerId: string): TransferTotals {
    return this.#links.find(folderId, peerId)?.totals ?? { files: 0, bytesFetched: 0, bytesReused: 0 };
  }

  /**
   * Accepts peers on `address`, or without one on port 50051 of every interface or the next
   * free port after it. Tells peers where it listens. Returns the bound port.
   *
   * @throws {PortInUseError} when the given address's port is taken.
   */
  listen(address?: HostPort): Promise<number> {
    return this.#sessions.listen(address);
  }

  /**
   * The device's dialer (made on first use): it keeps a session with every trusted peer with
   * an address, and the device's `close` ends its loops.
   */
  dialer(): Dialer {
    return this.#dialer ??= new Dialer(this, this.#logger);
  }

  /**
   * Announces this device on the local network (where it listens: call after `listen`) and
   * learns the addresses of trusted devices that announce themselves. When the discovery port
   * cannot be bound, says so as a warning and goes on without it.
   */
  async discover(options: DiscoveryOptions = {}): Promise<void> {
    if (this.#discovery || this.#closed) return;
    try {
      this.#discovery = await startDiscovery({
        store: this.#store,
        logger: this.#logger,
        deviceId: this.identity.deviceId,
        isConnected: (peerId) => this.isConnected(peerId),
        listenAddresses: () => this.#sessions.listenAddresses(),
        emit: (event) => this.#emit(event),
      }, options);
      this.#logger.info(`local discovery: announcing this device on UDP port ${options.port ?? DISCOVERY_PORT}`);
    } catch (e) {
      this.#logger.warn(`local discovery is off: ${(e as Error).message}`);
    }
  }

  /**
   * Connects to a peer and runs the session in the background until it ends.
   * Resolves with the session once the Hellos are exchanged.
   *
   * @throws {PeerUnreachableError} when the peer cannot be reached.
   * @throws {FsyncError} (untrusted) when the peer is not the expected device.
   */
  connect(address: HostPort, options: ConnectOptions = {}): Promise<{ session: PeerSession; done: Promise<void> }> {
    return this.#sessions.connect(address, options.deviceId, options.inviteSecret);
  }

  /** Runs a session over an already open connection (used by tests with in-memory pairs). */
  runConnection(connection: Connection, inviteSecret?: Uint8Array): Promise<void> {
    return this.#track(this.#sessions.adopt(connection, "", undefined, inviteSecret));
  }

  /** Stops listening, ends every session, and closes the store and the home lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Dialling loops stop now; those in a connect end once the sessions below are closed.
    const dialling = this.#dialer?.close();
    this.#pulls.close();
    this.#folders.close();
    await this.#discovery?.close();
    await this.#sessions.close();
    await dialling;
    await this.#control?.close();
    // Tasks a finishing task started (a session whose handshake ended meanwhile) are awaited too.
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
    await this.#logger.close();
    this.#needs.close();
    this.#store.close();
    this.#lock.close();
  }

  /** Pulls a folder from every connected peer sharing it (what it takes from them changed). */
  #pullAgain(folderId: string): void {
    this.#track((async () => {
      for (const peerId of this.#sessions.peerIds()) {
        if (await this.#shares.has(folderId, peerId)) this.#pulls.schedule({ folderId, peerId });
      }
    })());
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
