/**
 * @module
 * fsync as a library: start a device on a home directory, share a folder, join a peer,
 * and follow what happens through events.
 *
 * @example
 * ```ts
 * import { Device } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const home = await Deno.makeTempDir();
 * const photos = await Deno.makeTempDir();
 * const device = await Device.start({ home });
 * const folder = await device.addFolder(photos, "photos");
 * device.offerToNewDevices(folder.id);
 * const port = await device.listen({ host: "127.0.0.1", port: 0 });
 * assert.ok(port > 0);
 * await device.close();
 * await Deno.remove(home, { recursive: true });
 * await Deno.remove(photos, { recursive: true });
 * ```
 */
export {
  type ConflictReport,
  CONTROL_SOCKET,
  Device,
  type DeviceApprover,
  type DeviceEvent,
  deviceIdOf,
  type DeviceOptions,
  Dialer,
  type DialTarget,
  explainIgnored,
  type FolderAction,
  type IgnoreExplanation,
  keepConnected,
  type LogContext,
  type Logger,
  type OfferHandler,
  type Pin,
  readConflicts,
  readFolderPaths,
  readStatus,
  revokePeer,
  runFolderAction,
  type ShareOffer,
  type StatusReport,
  type UnknownDevice,
} from "./lib/node/mod.ts";
export { PeerUnreachableError, UntrustedPeerError } from "./lib/net/mod.ts";
export {
  DEFAULT_PORT,
  ExitCode,
  FOLDER_MODES,
  type FolderMode,
  formatDeviceId,
  formatHostPort,
  formatInvite,
  FsyncError,
  type HostPort,
  humanBytes,
  type Invite,
  isInvite,
  LOG_LEVELS,
  type LogLevel,
  parseDeviceId,
  parseHostPort,
  parseInvite,
  printable,
  shortOfDisplayId,
} from "./lib/model/mod.ts";
export { prepareHome } from "./lib/store/mod.ts";
export { isOsError } from "./lib/fs/mod.ts";
