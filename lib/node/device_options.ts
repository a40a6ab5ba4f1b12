import type { FolderMode } from "../model/mod.ts";
import type { DeletionThresholds } from "../plan/mod.ts";
import type { Logger } from "./logger.ts";

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
  /**
   * Carry blocks on a data connection beside each session when the peer can (default true;
   * false plays a peer of an fsync without it: blocks then travel on the Session).
   */
  readonly dataPath?: boolean;
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
