/**
 * @module
 * One running fsync device: wires identity, store, folders, scanner, puller and peer
 * sessions together. The only module that knows all the others; decides nothing itself
 * (`plan` does) and prints nothing (its owner gets events and log lines).
 */
export * from "./device.ts";
export type { ConnectOptions, DeviceOptions } from "./device_options.ts";
export { type DialTarget, keepConnected, type Pin } from "./reconnect.ts";
export { Dialer } from "./dialer.ts";
export type { DeviceApprover, UnknownDevice } from "./peer_admission.ts";
export type { OfferHandler, ShareOffer } from "./peer_protocol.ts";
export * from "./events.ts";
export * from "./logger.ts";
export { deviceIdOf, revokePeer } from "./peers.ts";
export { explainIgnored, type IgnoreExplanation } from "./ignore_check.ts";
export type { FolderAction, FolderActionResult } from "./control.ts";
export { CONTROL_SOCKET, readFolderPaths } from "../store/mod.ts";
export { runFolderAction } from "./folder_action.ts";
export { type InspectOptions, readConflicts, readStatus } from "./inspect.ts";
export type * from "./status.ts";
