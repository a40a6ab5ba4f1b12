/**
 * @module
 * fsync as a library: start a device on a home directory, share a folder, join a peer,
 * and follow what happens through events.
 *
 * @example
 * ```ts ignore
 * import { Device } from "./mod.ts";
 * const device = await Device.start({ home: "/tmp/fsync-home" });
 * const folder = await device.addFolder("/tmp/photos", "photos");
 * device.offerToNewDevices(folder.id);
 * console.log("listening on port", await device.listen({ host: "127.0.0.1", port: 0 }));
 * ```
 */
export {
  Device,
  type DeviceEvent,
  type DeviceOptions,
  type Logger,
  type OfferHandler,
  type ShareOffer,
} from "./lib/node/mod.ts";
export { DEFAULT_PORT, formatHostPort, type HostPort, parseHostPort } from "./lib/net/mod.ts";
export { ExitCode, FsyncError } from "./lib/model/mod.ts";
