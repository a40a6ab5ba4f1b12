import {
  type BlockWant,
  ExitCode,
  type FolderMode,
  formatHostPort,
  FsyncError,
  parseHostPort,
  shortOfDisplayId,
} from "../model/mod.ts";
import {
  type BlockErrorCode,
  type FolderState,
  type Message,
  type PeerSession,
  ProtocolError,
  type SessionEvent,
} from "../net/mod.ts";
import type { FolderRecord, Store } from "../store/mod.ts";
import type { RateLimiter } from "../transfer/mod.ts";
import type { BlockServer } from "./block_server.ts";
import type { DeviceEvent } from "./events.ts";
import type { FolderLinks } from "./folder_link.ts";
import type { FolderRunner } from "./folder_runner.ts";
import { sendIndex } from "./index_sender.ts";
import type { Introductions } from "./introductions.ts";
import type { LogContext, Logger } from "./logger.ts";
import { NOT_TRUSTED, type PeerAdmission } from "./peer_admission.ts";
import type { PullScheduler } from "./pull_scheduler.ts";
import type { Shares } from "./shares.ts";

/** A folder a peer offers, as the device's owner is asked about it. */
export interface ShareOffer {
  readonly folderId: string;
  readonly label: string;
  readonly fileCount: number;
  readonly totalBytes: number;
  readonly peerId: string;
  readonly peerName: string;
}

/** Decides about an offer: the absolute path to replicate into, or a reason to decline. */
export type OfferHandler = (
  offer: ShareOffer,
) => Promise<{ path: string; mode?: FolderMode; introduce?: boolean } | { decline: string }>;

/** What the peer protocol uses of its device. */
export interface PeerProtocolContext {
  readonly store: Store;
  readonly logger: Logger;
  /** This device's short ID. */
  readonly shortId: string;
  readonly folders: ReadonlyMap<string, FolderRunner>;
  readonly links: FolderLinks;
  readonly shares: Shares;
  readonly admission: PeerAdmission;
  readonly introductions: Introductions;
  readonly pulls: PullScheduler;
  readonly blockServer: BlockServer;
  /** Bounds block data sent to all peers together. */
  readonly sendLimit?: RateLimiter;
  /** The address this device dialled to open a session (none for sessions the peer opened). */
  dialledAt(session: PeerSession): string | undefined;
  /** The open session with a peer, if any. */
  sessionWith(peerId: string): PeerSession | undefined;
  /** Where this device accepts sessions (`host:port`), told to every peer. */
  listenAddresses(): string[];
  /** The folders an accepted offer makes and sets up. */
  readonly device: {
    folderAt(path: string): Promise<FolderRecord | undefined>;
    addFolder(path: string, label: string, folderId: string): Promise<FolderRecord>;
    setFolderMode(folderId: string, mode: FolderMode): Promise<void>;
    setIntroduce(folderId: string, on: boolean): Promise<void>;
    folderSummary(folderId: string): Promise<{ files: number; bytes: number }>;
  };
  offerHandler(): OfferHandler | undefined;
  emit(event: DeviceEvent): void;
  /** Owns a background task (awaited at close, its failure logged). */
  track<T>(task: Promise<T>): Promise<T>;
  closed(): boolean;
}

/**
 * What this device says to a peer in a session and how it answers: cluster configuration,
 * offers and their answers, index updates (received and, through index senders, sent),
 * Pulled, Goodbye, and block requests.
 */
export class PeerProtocol {
  #ctx: PeerProtocolContext;
  /** The folders whose index is being sent in a session (one sender per folder and session). */
  #senders = new WeakMap<PeerSession, Set<string>>();

  constructor(ctx: PeerProtocolContext) {
    this.#ctx = ctx;
  }

  /** Answers one message of the peer's. */
  async onEvent(session: PeerSession, event: SessionEvent): Promise<void> {
    const peerId = session.peer.deviceId;
    switch (event.type) {
      case "clusterConfig":
        await this.#learnAddress(session, event.listenAddresses);
        for (const state of event.folders) await this.#onFolderState(session, state);
        return;
      case "shareOffer":
        return await this.#onShareOffer(session, event);
      case "shareAccept": {
        if (!this.#ctx.admission.offered.has(event.folderId)) {
          throw new ProtocolError(`accepted folder ${event.folderId} never offered`);
        }
        await this.#ctx.shares.add(event.folderId, peerId);
        this.#ctx.logger.info(`${session.peer.deviceName} accepted the folder`, this.#context(event.folderId, peerId));
        this.#ctx.emit({ type: "share-accepted", folderId: event.folderId, peerId });
        await this.sendClusterConfig(session);
        // The folder's other devices are introduced to the newcomer, and it to them.
        return await this.#reannounce(event.folderId, peerId);
      }
      case "shareDecline":
        this.#ctx.links.get(event.folderId, peerId).session.declined = true;
        this.#ctx.logger.info(
          `${session.peer.deviceName} declined the folder: ${event.reason}`,
          this.#context(event.folderId, peerId),
        );
        this.#ctx.emit({ type: "share-declined", folderId: event.folderId, peerId, reason: event.reason });
        return;
      case "indexUpdate":
        return await this.#onIndexUpdate(session, event);
      case "pulled": {
        if (!await this.#ctx.shares.has(event.folderId, peerId)) {
          throw new ProtocolError(`pulled folder ${event.folderId}, which is not shared with this peer`);
        }
        this.#ctx.links.get(event.folderId, peerId).session.peerPulled = {
          indexId: event.indexId,
          sequence: event.sequence,
        };
        this.#ctx.emit({ type: "peer-pulled", folderId: event.folderId, peerId });
        return;
      }
      case "goodbye":
        this.#ctx.logger.info(`${session.peer.deviceName} said goodbye: ${event.reason}`, {
          peer: shortOfDisplayId(peerId),
        });
        if (event.reason === NOT_TRUSTED) this.#ctx.emit({ type: "not-trusted", peerId });
        await session.close("the peer said goodbye");
        return;
    }
  }

  /** Tells the peer the folders shared with it, where they stand, their other devices, and where this device listens. */
  async sendClusterConfig(session: PeerSession): Promise<void> {
    const folders: FolderState[] = [];
    const peerId = session.peer.deviceId;
    for (const runner of this.#ctx.folders.values()) {
      if (!await this.#ctx.shares.has(runner.folder.id, peerId)) continue;
      const folder = await this.#ctx.store.getFolder(runner.folder.id) ?? runner.folder;
      const seen = await this.#ctx.store.remoteState(folder.id, peerId);
      folders.push({
        folderId: folder.id,
        label: folder.label,
        indexId: folder.indexId,
        maxSequence: await this.#ctx.store.localSequence(folder.id),
        seenIndexId: seen.indexId,
        seenSequence: seen.sequence,
        devices: await this.#ctx.introductions.for(folder, peerId),
      });
    }
    await session.send({ type: "clusterConfig", folders, listenAddresses: this.#ctx.listenAddresses() });
  }

  /** Sends a new ClusterConfig to every connected peer sharing `folderId` but `except` (its devices changed). */
  async #reannounce(folderId: string, except: string): Promise<void> {
    for (const peerId of await this.#ctx.shares.of(folderId)) {
      const session = peerId === except ? undefined : this.#ctx.sessionWith(peerId);
      if (session) await this.sendClusterConfig(session);
    }
  }

  /**
   * Remembers where a peer that dialled in accepts sessions: the first address it names with
   * an unspecified host (taken as the host it is seen at), else one on the host it is seen at,
   * else the first. A peer this device dialled is reached where it was dialled.
   */
  async #learnAddress(session: PeerSession, listenAddresses: readonly string[]): Promise<void> {
    if (listenAddresses.length === 0 || this.#ctx.dialledAt(session)) return;
    const seenAt = parseHostPort(session.peer.address).host;
    const parsed = listenAddresses.map((a) => parseHostPort(a));
    const unspecified = parsed.find((a) => a.host === "0.0.0.0" || a.host === "::");
    const chosen = unspecified
      ? { host: seenAt, port: unspecified.port }
      : parsed.find((a) => a.host === seenAt) ?? parsed[0];
    const address = formatHostPort(chosen);
    const peerId = session.peer.deviceId;
    const record = await this.#ctx.store.getPeer(peerId);
    if (!record?.trusted || record.address === address) return;
    await this.#ctx.store.putPeer({ ...record, address });
    this.#ctx.emit({ type: "peer-address", peerId, address });
  }

  /** Offers each folder offered here that the peer was invited or approved to, and does not share yet. */
  async sendOffers(session: PeerSession, invitedTo: readonly string[]): Promise<void> {
    for (const folderId of this.#ctx.admission.offered) {
      if (!invitedTo.includes(folderId) || await this.#ctx.shares.has(folderId, session.peer.deviceId)) continue;
      const { files, bytes } = await this.#ctx.device.folderSummary(folderId);
      const label = this.#ctx.folders.get(folderId)!.folder.label;
      await session.send({ type: "shareOffer", folderId, label, fileCount: files, totalBytes: bytes });
    }
  }

  async #onShareOffer(session: PeerSession, offer: Extract<Message, { type: "shareOffer" }>): Promise<void> {
    const { peer } = session;
    if (await this.#ctx.shares.has(offer.folderId, peer.deviceId)) return;
    const handler = this.#ctx.offerHandler();
    const answer = handler
      ? await handler({ ...offer, peerId: peer.deviceId, peerName: peer.deviceName })
      : { decline: "this device is not accepting new folders" };
    if ("decline" in answer) {
      await session.send({ type: "shareDecline", folderId: offer.folderId, reason: answer.decline });
      return;
    }
    let folder = await this.#ctx.store.getFolder(offer.folderId);
    try {
      const other = await this.#ctx.device.folderAt(answer.path);
      if (!folder && other) {
        throw new FsyncError(`${other.path} already holds another folder ("${other.label}")`, ExitCode.usage, {
          hint: "join into a different directory",
        });
      }
      folder ??= await this.#ctx.device.addFolder(answer.path, offer.label, offer.folderId);
      if (answer.mode) await this.#ctx.device.setFolderMode(folder.id, answer.mode);
      if (answer.introduce !== undefined) await this.#ctx.device.setIntroduce(folder.id, answer.introduce);
    } catch (e) {
      if (!(e instanceof FsyncError)) throw e;
      this.#ctx.logger.error(`cannot accept the folder: ${e.message}`, {
        folder: offer.label,
        ...{ peer: shortOfDisplayId(peer.deviceId) },
      });
      this.#ctx.emit({ type: "offer-failed", folderId: offer.folderId, peerId: peer.deviceId, error: e });
      await session.send({ type: "shareDecline", folderId: offer.folderId, reason: "the replica folder is unusable" });
      return;
    }
    await this.#ctx.shares.add(folder.id, peer.deviceId);
    await this.#ctx.admission.trustOfferer(session.peer, this.#ctx.dialledAt(session));
    await session.send({ type: "shareAccept", folderId: folder.id });
    await this.sendClusterConfig(session);
  }

  async #onFolderState(session: PeerSession, state: FolderState): Promise<void> {
    const peerId = session.peer.deviceId;
    const runner = this.#ctx.folders.get(state.folderId);
    if (!runner || !await this.#ctx.shares.has(state.folderId, peerId)) return;
    const held = await this.#ctx.store.remoteState(state.folderId, peerId);
    if (held.indexId !== state.indexId) await this.#ctx.store.resetRemote(state.folderId, peerId, state.indexId);
    for (const added of await this.#ctx.introductions.accept(session.peer, state)) {
      // Connected already (for another folder): it learns that this one is shared with it.
      const other = this.#ctx.sessionWith(added);
      if (other) await this.sendClusterConfig(other);
    }
    const pair = { folderId: state.folderId, peerId };
    const link = this.#ctx.links.get(state.folderId, peerId);
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
      const sender = { store: this.#ctx.store, shortId: this.#ctx.shortId, closed: () => this.#ctx.closed() };
      this.#ctx.track(sendIndex(sender, session, runner, progress));
    }
    this.#ctx.pulls.schedule(pair);
  }

  async #onIndexUpdate(session: PeerSession, update: Extract<Message, { type: "indexUpdate" }>): Promise<void> {
    const peerId = session.peer.deviceId;
    const { folderId, files } = update;
    if (!this.#ctx.folders.has(folderId) || !await this.#ctx.shares.has(folderId, peerId)) {
      throw new ProtocolError(`index update for folder ${folderId}, which is not shared with this peer`);
    }
    const held = await this.#ctx.store.remoteState(folderId, peerId);
    const sequence = files.length > 0 ? Math.max(held.sequence, files[files.length - 1].sequence) : held.sequence;
    await this.#ctx.store.applyRemote(folderId, peerId, files, { indexId: held.indexId, sequence });
    this.#ctx.links.get(folderId, peerId).session.announced = update.maxSequence;
    this.#ctx.pulls.schedule({ folderId, peerId });
  }

  async serveBlock(session: PeerSession, folderId: string, want: BlockWant): Promise<Uint8Array | BlockErrorCode> {
    const runner = this.#ctx.folders.get(folderId);
    if (!runner || !await this.#ctx.shares.has(folderId, session.peer.deviceId)) return "invalid-request";
    try {
      // Before reading: requests waiting for their turn hold no data.
      await this.#ctx.sendLimit?.take(want.size);
      const served = await this.#ctx.blockServer.serve(folderId, runner.folder.path, want);
      if (typeof served !== "string") this.#ctx.links.get(folderId, session.peer.deviceId).bytesSent += served.length;
      return served;
    } catch (e) {
      this.#ctx.logger.warn(
        `cannot read ${want.path} for ${session.peer.deviceName}: ${(e as Error).message}`,
        this.#context(folderId, session.peer.deviceId),
      );
      return "read-failed";
    }
  }

  /** The log context of a folder (by label) and a peer. */
  #context(folderId: string, peerId: string): LogContext {
    return { folder: this.#ctx.folders.get(folderId)?.folder.label ?? folderId, peer: shortOfDisplayId(peerId) };
  }
}
