import type { FileInfo } from "../model/mod.ts";

/** Version of the Session protocol this build speaks. */
export const PROTOCOL_VERSION = 4;
/** Largest block payload in one response, and so the largest block size. */
export const MAX_BLOCK_BYTES = 1 << 20;
/** Most FileInfos accepted in one IndexUpdate. */
export const MAX_INDEX_BATCH = 1000;
/** Largest encoded message accepted from a peer. */
export const MAX_MESSAGE_BYTES = 4 << 20;
/** Bytes of a data connection's ticket (random, single use). */
export const DATA_TICKET_BYTES = 32;

/** Where a device's index and its view of the receiver's index stand, for one folder. */
export interface FolderState {
  readonly folderId: string;
  readonly label: string;
  readonly indexId: string;
  readonly maxSequence: number;
  readonly seenIndexId: string;
  readonly seenSequence: number;
  /** The sender's other devices sharing the folder, introduced to the receiver (empty: none). */
  readonly devices: readonly IntroducedDevice[];
}

/** A device a peer introduces for a folder: who it is and where it was last reached. */
export interface IntroducedDevice {
  /** Device ID in display form. */
  readonly deviceId: string;
  readonly name: string;
  /** `host:port` each, best first. */
  readonly addresses: readonly string[];
}

/** Why a block could not be served. */
export type BlockErrorCode = "none" | "no-such-file" | "invalid-request" | "read-failed" | "changed";

/** A validated message of the Session protocol, as the rest of fsync sees it. */
export type Message =
  | {
    readonly type: "hello";
    readonly deviceId: Uint8Array;
    readonly deviceName: string;
    readonly protocolVersion: number;
    /** Signature over the connection's binding (see `proveIdentity`). */
    readonly identityProof: Uint8Array;
    /** HMAC of the binding with an invite secret, or empty. */
    readonly inviteProof: Uint8Array;
    /** This end can carry blocks on a data connection (absent: it cannot, as older peers). */
    readonly dataPath?: boolean;
  }
  | {
    readonly type: "clusterConfig";
    readonly folders: readonly FolderState[];
    /** Where the sender accepts sessions (`host:port`; an unspecified host stands for the address it is seen at). */
    readonly listenAddresses: readonly string[];
  }
  | {
    readonly type: "shareOffer";
    readonly folderId: string;
    readonly label: string;
    readonly fileCount: number;
    readonly totalBytes: number;
  }
  | { readonly type: "shareAccept"; readonly folderId: string }
  | { readonly type: "shareDecline"; readonly folderId: string; readonly reason: string }
  | {
    readonly type: "indexUpdate";
    readonly folderId: string;
    readonly files: readonly FileInfo[];
    readonly maxSequence: number;
  }
  | {
    readonly type: "blockRequest";
    readonly id: number;
    readonly folderId: string;
    readonly path: string;
    readonly offset: number;
    readonly size: number;
    readonly hash: Uint8Array;
  }
  | { readonly type: "blockResponse"; readonly id: number; readonly data: Uint8Array; readonly error: BlockErrorCode }
  | { readonly type: "ping" }
  /** The receiver of an index has applied all of it up to `sequence`. */
  | { readonly type: "pulled"; readonly folderId: string; readonly indexId: string; readonly sequence: number }
  | { readonly type: "goodbye"; readonly reason: string }
  /** The listener's single-use ticket for one data connection of this session (data_path.ts). */
  | { readonly type: "dataOffer"; readonly ticket: Uint8Array }
  /** The first frame of a data connection: the ticket its session offered. */
  | { readonly type: "dataHello"; readonly ticket: Uint8Array };
