import { type FolderMode, parseConflictName } from "../model/mod.ts";
import type { FolderRecord, LastError, Store } from "../store/mod.ts";
import { countNeeds, type Needs } from "../plan/mod.ts";
import type { FolderPolicy } from "./needs.ts";
import { rootProblemOnDisk } from "./folder_marker.ts";
import type { PathProblem } from "./path_problems.ts";

/** What this device still needs of a folder from one peer. */
export interface FolderPeerStatus {
  readonly deviceId: string;
  readonly name: string;
  readonly connected: boolean;
  /** ISO time a session with it last started or ended, or null. */
  readonly lastSeen: string | null;
  /** Nothing is needed from the peer (as far as its index, last received, says). */
  readonly inSync: boolean;
  readonly needFiles: number;
  /** Bytes of the files to fetch (blocks that are reused locally included). */
  readonly needBytes: number;
  /** Block data this device served it for the folder since it started (0 when none runs). */
  readonly bytesSent: number;
}

/** One folder's state. */
export interface FolderStatus {
  readonly id: string;
  readonly label: string;
  readonly path: string;
  readonly mode: FolderMode;
  readonly files: number;
  readonly bytes: number;
  /** Conflict copies present in the folder. */
  readonly conflicts: number;
  readonly peers: readonly FolderPeerStatus[];
  /** Why the folder does not sync as usual (root unmounted or replaced, a big deletion held), with the fix; or null. */
  readonly problem: string | null;
  /** How many paths cannot be synced now (a name that is not UTF-8, a case twin, an unreadable file...). */
  readonly unsyncableCount: number;
  /** The first UNSYNCABLE_LISTED of them, in path order, each with why. */
  readonly unsyncable: readonly PathProblem[];
}

/** Unsyncable paths a status lists per folder at most (the count says how many there are). */
export const UNSYNCABLE_LISTED = 100;

/** A peer this device knows. */
export interface PeerStatus {
  readonly deviceId: string;
  readonly name: string;
  readonly address: string;
  readonly trusted: boolean;
  readonly connected: boolean;
  /** ISO time a session last started or ended, or null. */
  readonly lastSeen: string | null;
  /** The device that introduced it (display ID), or null when it was trusted otherwise. */
  readonly introducedBy: string | null;
  /** Labels of the folders shared with it. */
  readonly folders: readonly string[];
}

/** `fsync status --json`: the whole answer. */
export interface StatusReport {
  /** Whether a running fsync answered (else it was read from the store). */
  readonly running: boolean;
  readonly folders: readonly FolderStatus[];
  readonly peers: readonly PeerStatus[];
  readonly lastError: (LastError & { time: string }) | null;
}

/** A conflict copy, with the two versions' origins (short device IDs) and times. */
export interface ConflictReport {
  readonly folder: string;
  /** The copy: the version that lost. */
  readonly copy: string;
  readonly copyOrigin: string;
  readonly copyModified: string;
  readonly copySize: number;
  /** The path it was a version of, and the version there now (null when deleted since). */
  readonly original: string;
  readonly originalOrigin: string | null;
  readonly originalModified: string | null;
  /** When the conflict was resolved. */
  readonly resolvedAt: string;
}

/** What the store alone cannot say: supplied by a running device, or guessed when none runs. */
export interface LiveView {
  readonly running: boolean;
  isConnected(deviceId: string): boolean;
  policyOf(folder: FolderRecord): FolderPolicy;
  /** Block data served to a peer for a folder since the device started. */
  bytesSentTo?(folder: FolderRecord, peerId: string): number;
  /** What the folder needs from a peer, kept up to date (absent: counted over the whole index). */
  needsOf?(folder: FolderRecord, peerId: string): Promise<Needs> | undefined;
  readonly lastError?: LastError;
  /** The folder's problem as the running device knows it (absent: what the disk shows of its root). */
  problemOf?(folder: FolderRecord): string | undefined;
  /** The paths of the folder a running device cannot sync (none is known when none runs). */
  pathProblemsOf?(folder: FolderRecord, limit: number): { count: number; list: readonly PathProblem[] };
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoNs = (ns: bigint) => iso(Number(ns / 1_000_000n));

/** Builds the status report from the store and the live view. */
export async function collectStatus(store: Store, view: LiveView): Promise<StatusReport> {
  const peers = await store.listPeers();
  const folders: FolderStatus[] = [];
  for (const folder of await store.listFolders()) {
    const { files, bytes, conflicts } = await store.localSummary(folder.id);
    const { mode, decider } = view.policyOf(folder);
    const folderPeers: FolderPeerStatus[] = [];
    for (const deviceId of await store.sharesOf(folder.id)) {
      const { files: needFiles, bytes: needBytes } = await (view.needsOf?.(folder, deviceId) ??
        countNeeds(store.pairWithRemote(folder.id, deviceId), decider));
      const peer = peers.find((p) => p.deviceId === deviceId);
      folderPeers.push({
        deviceId,
        name: peer?.name ?? "",
        connected: view.isConnected(deviceId),
        lastSeen: peer?.lastSeenMs === undefined ? null : iso(peer.lastSeenMs),
        inSync: needFiles === 0,
        needFiles,
        needBytes,
        bytesSent: view.bytesSentTo?.(folder, deviceId) ?? 0,
      });
    }
    const { id, label, path } = folder;
    const problem = (view.problemOf ? view.problemOf(folder) : rootProblemOnDisk(folder)) ?? null;
    const unsyncable = view.pathProblemsOf?.(folder, UNSYNCABLE_LISTED) ?? { count: 0, list: [] };
    folders.push({
      id,
      label,
      path,
      mode,
      files,
      bytes,
      conflicts,
      peers: folderPeers,
      problem,
      unsyncableCount: unsyncable.count,
      unsyncable: unsyncable.list,
    });
  }
  const lastError = view.lastError ?? await store.getLastError();
  return {
    running: view.running,
    folders,
    peers: peers.map((p) => ({
      deviceId: p.deviceId,
      name: p.name,
      address: p.address,
      trusted: p.trusted,
      connected: view.isConnected(p.deviceId),
      lastSeen: p.lastSeenMs === undefined ? null : iso(p.lastSeenMs),
      introducedBy: p.introducedBy ?? null,
      folders: folders.filter((f) => f.peers.some((fp) => fp.deviceId === p.deviceId)).map((f) => f.label),
    })),
    lastError: lastError ? { ...lastError, time: iso(lastError.atMs) } : null,
  };
}

/** Every conflict copy in the store's folders, oldest resolution first. */
export async function collectConflicts(store: Store): Promise<ConflictReport[]> {
  const out: ConflictReport[] = [];
  for (const folder of await store.listFolders()) {
    for await (const f of store.listLocal(folder.id)) {
      const name = f.deleted ? undefined : parseConflictName(f.path);
      if (!name) continue;
      const original = await store.getLocal(folder.id, name.original);
      const live = original && !original.deleted ? original : undefined;
      out.push({
        folder: folder.label,
        copy: f.path,
        copyOrigin: name.shortId,
        copyModified: isoNs(f.mtimeNs),
        copySize: f.size,
        original: name.original,
        originalOrigin: live?.modifiedBy ?? null,
        originalModified: live ? isoNs(live.mtimeNs) : null,
        resolvedAt: name.at.toISOString(),
      });
    }
  }
  return out.sort((a, b) => a.resolvedAt.localeCompare(b.resolvedAt));
}
