import { type Device, ExitCode, FsyncError, type OfferHandler } from "../../mod.ts";
import { CONFIG_FILE, type FolderConfig } from "./config.ts";
import type { CliContext } from "./context.ts";

/**
 * Brings the home in line with the configuration's `[[folders]]`: adds those it does not
 * sync yet (creating a missing directory the first time), and trusts each folder's
 * `share_with` devices with it, so they are offered it. Returns the offer handler that
 * accepts a configured folder from the devices it is shared with, and declines the rest.
 *
 * @throws {FsyncError} (config) when an entry contradicts the home: its id is synced at
 *   another path, or its path holds a folder with another id.
 * @throws {FsyncError} (local IO) when a folder's directory cannot be created or read.
 */
export async function applyConfiguredFolders(device: Device, ctx: CliContext): Promise<OfferHandler> {
  const byId = new Map<string, FolderConfig>();
  for (const entry of ctx.config.folders) {
    const folderId = await ensureFolder(device, entry, ctx);
    byId.set(folderId, entry);
    if (entry.introduce !== undefined) await device.setIntroduce(folderId, entry.introduce);
    for (const peerId of entry.shareWith) {
      if (peerId === device.identity.displayId) continue; // one config file copied to every device
      if (!(await device.trustWith(folderId, peerId))) {
        ctx.logger.warn(
          `${CONFIG_FILE} shares ${entry.path} with ${peerId}, which was revoked: not shared (remove it from share_with)`,
          { folder: entry.label },
        );
      }
    }
  }
  return (offer) => {
    const entry = byId.get(offer.folderId);
    if (entry?.shareWith.includes(offer.peerId)) {
      return Promise.resolve({ path: entry.path, mode: entry.mode, introduce: entry.introduce });
    }
    ctx.logger.warn(
      `${offer.peerName} offers the folder "${offer.label}", which ${CONFIG_FILE} does not share with it: declined ` +
        `(to accept it, add [[folders]] with id = "${offer.folderId}", a path and share_with = ["${offer.peerId}"])`,
      { folder: offer.label, peer: offer.peerId },
    );
    return Promise.resolve({ decline: `not shared with this device in its ${CONFIG_FILE}` });
  };
}

/** The ID of the folder a configuration entry names, added to the home when new. */
async function ensureFolder(device: Device, entry: FolderConfig, ctx: CliContext): Promise<string> {
  const atPath = await device.folderAt(entry.path);
  const withId = entry.id === undefined ? undefined : (await device.folders()).find((f) => f.id === entry.id);
  if (withId && withId.path !== entry.path) {
    throw configError(`folder "${entry.id}" is synced at ${withId.path} in this home, not ${entry.path}`);
  }
  if (atPath && entry.id !== undefined && atPath.id !== entry.id) {
    throw configError(`${entry.path} is synced as folder "${atPath.id}" in this home, not "${entry.id}"`);
  }
  if (atPath) return atPath.id;
  try {
    await Deno.mkdir(entry.path, { recursive: true });
  } catch (e) {
    throw new FsyncError(`cannot create ${entry.path}: ${(e as Error).message}`, ExitCode.io, { cause: e });
  }
  const folder = await device.addFolder(entry.path, entry.label, entry.id);
  ctx.logger.info(`added ${entry.path} from ${CONFIG_FILE} (folder id ${folder.id})`, { folder: folder.label });
  return folder.id;
}

function configError(message: string): FsyncError {
  return new FsyncError(`${CONFIG_FILE}: ${message}`, ExitCode.config, { hint: "fix the [[folders]] entry" });
}
