import type { FileInfo, FolderMode } from "../model/mod.ts";

/** A folder this device replicates. */
export interface FolderRecord {
  readonly id: string;
  readonly label: string;
  /** Absolute path of the folder on this device. */
  readonly path: string;
  /** Random identity of this device's index of the folder; a new one restarts sequences. */
  readonly indexId: string;
  /** As set by `share --mode` or `join --mode` (absent: send-receive). */
  readonly mode?: FolderMode;
  /** This device made the folder's marker file: from then on, a root without it is not used. */
  readonly marked?: boolean;
  /**
   * False (`--no-introduce`): this device neither introduces the folder's devices to each
   * other nor trusts devices introduced for it (absent: it does both).
   */
  readonly introduce?: boolean;
}

/** A device this device knows. */
export interface PeerRecord {
  /** Device ID in display form. */
  readonly deviceId: string;
  readonly name: string;
  /** Last address it was reached at (`host:port`), or "" when it dialled us. */
  readonly address: string;
  /**
   * Whether it may open sessions with this device: it used an invite, was approved or named in
   * `share_with`, or this device accepted a folder it offered. False once revoked.
   */
  readonly trusted: boolean;
  /** Folders it may be offered: the folder of the invite it used, or those it was approved to. */
  readonly invitedTo: readonly string[];
  /** When a session with it last started or ended (ms since the epoch). */
  readonly lastSeenMs?: number;
  /** The device that introduced it (display ID), when it came to be trusted by an introduction. */
  readonly introducedBy?: string;
}

/** The last problem a device reported (a warning or an error), with what it concerned. */
export interface LastError {
  readonly message: string;
  readonly atMs: number;
  readonly folder?: string;
  readonly peer?: string;
}

/** An invite to a folder: who presents a proof made with its secret is trusted. */
export interface InviteRecord {
  /** Random ID, the key of the record. */
  readonly id: string;
  readonly folderId: string;
  /** The public key of the invite's secret: it checks proofs and cannot make one (the secret is never stored). */
  readonly publicKey: Uint8Array;
  readonly expiresAtMs: number;
  readonly usesLeft: number;
}

/** How much of a peer's index of a folder this device holds. */
export interface RemoteIndexState {
  readonly indexId: string;
  readonly sequence: number;
}

/**
 * A pull of a peer's index that ended without problems: every entry up to `sequence` of the
 * index `indexId` was carried out under the folder's policy `policy` (an opaque key). The
 * next pull, in this session or a later one, needs only what came after.
 */
export interface PulledMark {
  readonly indexId: string;
  readonly sequence: number;
  readonly policy: string;
}

/** Where a local file held a block: folder-relative path and byte offset. */
export interface BlockLocation {
  readonly path: string;
  readonly offset: number;
}

/** A local entry paired with a peer's entry for the same path (either may be missing). */
export interface IndexPair {
  readonly local?: FileInfo;
  readonly remote?: FileInfo;
}
