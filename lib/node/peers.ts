import { ExitCode, formatDeviceId, FsyncError, parseDeviceId } from "../model/mod.ts";
import { loadOrCreateIdentity } from "../net/mod.ts";
import { hasStore, type PeerRecord, prepareHome, Store, storePathOf } from "../store/mod.ts";

/**
 * This device's ID in `home` (made with the home on first use). Takes no lock: it works while
 * fsync runs on that home, which is when an approval needs it.
 */
export async function deviceIdOf(home: string): Promise<string> {
  await prepareHome(home); // another user's home is a one-line error here
  return (await loadOrCreateIdentity(home, Deno.hostname())).displayId;
}

/**
 * Revokes a device in `home`: it is no longer trusted and no folder is shared with it. A
 * running device drops its session within seconds and refuses its next connection.
 *
 * @throws {FsyncError} (usage) when `deviceId` is not a device ID or not a known peer.
 */
export async function revokePeer(home: string, deviceId: string): Promise<PeerRecord> {
  const id = parseDeviceId(deviceId);
  if (!id) throw new FsyncError(`not a device ID: ${deviceId}`, ExitCode.usage, { hint: "see `fsync peers`" });
  await prepareExistingHome(home);
  const store = await openExistingStore(home);
  try {
    const display = formatDeviceId(id);
    const peer = await store.getPeer(display);
    if (!peer || !(await store.revokePeer(display))) {
      throw new FsyncError(`no known peer ${display}`, ExitCode.usage, { hint: "see `fsync peers`" });
    }
    return peer;
  } finally {
    store.close();
  }
}

/**
 * Makes an existing home private (another user's is a one-line error), creating nothing.
 *
 * @throws {FsyncError} (usage) when the home holds no fsync state.
 */
async function prepareExistingHome(home: string): Promise<void> {
  try {
    await Deno.stat(home);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw noState(home);
  }
  await prepareHome(home);
}

/**
 * Checks that `home` holds fsync state (a store), without opening or creating anything.
 *
 * @throws {FsyncError} (usage) when it does not.
 */
export async function requireState(home: string): Promise<void> {
  if (!await hasStore(home)) throw noState(home);
}

function noState(home: string): FsyncError {
  return new FsyncError(`no fsync state in ${home}`, ExitCode.usage, { hint: "check --home" });
}

/**
 * Opens the store of an existing home (usable while a device runs on it).
 *
 * @throws {FsyncError} (usage) when the home holds no fsync state.
 */
export async function openExistingStore(home: string): Promise<Store> {
  await requireState(home);
  return await Store.open(storePathOf(home));
}
