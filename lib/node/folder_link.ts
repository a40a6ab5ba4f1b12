import type { PeerSession } from "../net/mod.ts";
import type { PulledMark } from "../store/mod.ts";
import type { TransferTotals } from "./events.ts";

/** The pull loop of one folder and peer. */
export interface PullState {
  running: boolean;
  /** Asked to pull again while a pass ran. */
  again: boolean;
  retryMs: number;
  timer?: ReturnType<typeof setTimeout>;
  /** The last clean pull (as recorded in the store, which keeps it across sessions and restarts). */
  pulled?: PulledMark;
  /** The last `pulled` sequence told to the peer, in that session. */
  told?: { session: PeerSession; sequence: number };
}

/** What one folder and one peer know of each other in the peer's current session. */
export interface SessionLinkState {
  /** The maxSequence the peer last announced (ClusterConfig, IndexUpdate); set once it announced the folder. */
  announced?: number;
  /** How far the peer said it applied this device's index (Pulled). */
  peerPulled?: { indexId: string; sequence: number };
  /** How far the index sender has read the local index, and sent entries of it. */
  indexSent?: { read: number; sent: number };
  /** This device holds everything the peer announced (an in-sync event was sent). */
  inSync: boolean;
  /** The peer declined the folder offered to it. */
  declined: boolean;
  /** Shared in this session; the peer has not announced it yet. */
  unannounced: boolean;
}

/**
 * One folder and one peer: the state that lives per pair. The pull loop and the totals last
 * as long as the device; the rest lasts one session, and a new session starts it afresh.
 */
export class FolderLink {
  readonly folderId: string;
  readonly peerId: string;
  /** Created when the first pull is scheduled. */
  pull?: PullState;
  totals: TransferTotals = { files: 0, bytesFetched: 0, bytesReused: 0 };
  /** Block data served to the peer for this folder since the device started. */
  bytesSent = 0;
  session: SessionLinkState = freshSession();

  constructor(folderId: string, peerId: string) {
    this.folderId = folderId;
    this.peerId = peerId;
  }
}

function freshSession(): SessionLinkState {
  return { inSync: false, declined: false, unannounced: false };
}

/** Every FolderLink of a device, by peer and folder. */
export class FolderLinks {
  #byPeer = new Map<string, Map<string, FolderLink>>();

  /** The link of a folder and a peer, made on first use. */
  get(folderId: string, peerId: string): FolderLink {
    let links = this.#byPeer.get(peerId);
    if (!links) this.#byPeer.set(peerId, links = new Map());
    let link = links.get(folderId);
    if (!link) links.set(folderId, link = new FolderLink(folderId, peerId));
    return link;
  }

  /** The link of a folder and a peer, if one was made. */
  find(folderId: string, peerId: string): FolderLink | undefined {
    return this.#byPeer.get(peerId)?.get(folderId);
  }

  /** The peer's links. */
  ofPeer(peerId: string): FolderLink[] {
    return [...this.#byPeer.get(peerId)?.values() ?? []];
  }

  /** Every link. */
  all(): FolderLink[] {
    return [...this.#byPeer.values()].flatMap((links) => [...links.values()]);
  }

  /** The peer's session ended: what its links knew of it is forgotten. */
  endSession(peerId: string): void {
    for (const link of this.ofPeer(peerId)) link.session = freshSession();
  }
}
