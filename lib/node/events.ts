import type { FsyncError } from "../model/mod.ts";
import type { ScanProblem } from "../scan/mod.ts";
import type { PullProgress } from "./folder_runner.ts";

/** Totals of one folder's pulls from one peer since the device started. */
export interface TransferTotals {
  /** Entries written, changed or deleted on disk. */
  readonly files: number;
  readonly bytesFetched: number;
  readonly bytesReused: number;
}

/** What a device tells its owner (the CLI prints it, tests wait on it). */
export type DeviceEvent =
  | { readonly type: "peer-connected"; readonly peerId: string; readonly name: string; readonly address: string }
  | { readonly type: "peer-disconnected"; readonly peerId: string; readonly reason: string }
  /**
   * A peer introduced a device for a folder: it is trusted with it (and dialled when an
   * address is known), or an address was learnt for it.
   */
  | {
    readonly type: "peer-introduced";
    readonly peerId: string;
    readonly folderId: string;
    readonly introducerId: string;
  }
  /** A peer's address became known or changed (it said where it listens). */
  | { readonly type: "peer-address"; readonly peerId: string; readonly address: string }
  /** The peer does not trust this device (no valid invite, not approved, or revoked). */
  | { readonly type: "not-trusted"; readonly peerId: string }
  /** The folder holds everything the peer has: sent when that becomes true, not after every pass. */
  | {
    readonly type: "in-sync";
    readonly folderId: string;
    readonly peerId: string;
    readonly totals: TransferTotals;
  }
  /** The peer applied more of this device's index of a folder (see `Device.convergedWith`). */
  | { readonly type: "peer-pulled"; readonly folderId: string; readonly peerId: string }
  /** A pull pass with work to do advanced (see `PullProgress`). */
  | ({ readonly type: "pull-progress"; readonly folderId: string; readonly label: string } & PullProgress)
  | { readonly type: "pull-problems"; readonly folderId: string; readonly problems: readonly ScanProblem[] }
  | { readonly type: "share-declined"; readonly folderId: string; readonly peerId: string; readonly reason: string }
  | { readonly type: "share-accepted"; readonly folderId: string; readonly peerId: string }
  /** An offer this device accepted could not be set up (its folder is unusable); it was declined. */
  | { readonly type: "offer-failed"; readonly folderId: string; readonly peerId: string; readonly error: FsyncError };
