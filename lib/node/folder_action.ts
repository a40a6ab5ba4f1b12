import { join, resolve } from "node:path";
import { CONTROL_SOCKET } from "../store/mod.ts";
import { askControl, type FolderAction, type FolderActionResult } from "./control.ts";
import { Device } from "./device.ts";
import type { DeviceOptions } from "./device_options.ts";
import { requireState } from "./peers.ts";

/**
 * Runs a folder action (`fsync folder ...`) on the device of `options.home`: asked of the
 * running device through its control socket, or, when none runs, done by a device started
 * for it alone (no watching, no peers), whose scan commits to the store what the next run sends.
 *
 * @throws {FsyncError} (usage) when the home holds no fsync state or no such folder; (tempFail) when another
 * fsync holds the home without a control socket.
 */
export async function runFolderAction(
  options: DeviceOptions,
  folder: string,
  action: FolderAction,
): Promise<FolderActionResult & { readonly running: boolean }> {
  const socket = join(resolve(options.home), CONTROL_SOCKET);
  const live = await askControl(socket, { command: "folder", folder, action }, 600_000);
  if (live !== undefined) return { ...live as FolderActionResult, running: true };
  await requireState(options.home); // a home without fsync state is not made here
  const device = await Device.start({ ...options, watch: false });
  try {
    return { ...await device.folderAction(folder, action), running: false };
  } finally {
    await device.close();
  }
}
