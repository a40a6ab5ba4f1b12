import {
  formatDeviceId,
  formatHostPort,
  FsyncError,
  type HostPort,
  parseDeviceId,
  parseHostPort,
  shortOfDisplayId,
} from "../model/mod.ts";
import { OwnAddressError } from "../net/mod.ts";
import type { Store } from "../store/mod.ts";
import type { Device } from "./device.ts";
import type { Logger } from "./logger.ts";

/** The first and the longest wait between two attempts to reach a peer. */
const FIRST_WAIT_MS = 500;
const LONGEST_WAIT_MS = 15_000;
/** How long an address that led back to this device is left alone (it may lead to the peer again). */
const OWN_ADDRESS_MS = 10 * 60_000;

/** How to check the dialled peer: its device ID and an invite secret. */
export type Pin = Parameters<Device["connect"]>[1];

/** A peer to dial: its address, and its device ID when it is known. */
export interface DialTarget {
  readonly address: HostPort;
  readonly pin: Pin;
}

/**
 * Whom a device dials: the trusted peers the store remembers an address for, and `configured`
 * peers (a configuration's; their device ID pins them, else a remembered peer's does).
 */
export async function dialTargets(
  store: Store,
  configured: readonly { readonly address: HostPort; readonly deviceId?: string }[],
): Promise<DialTarget[]> {
  const targets = new Map<string, DialTarget>();
  for (const peer of await store.listPeers()) {
    if (!peer.trusted || peer.address === "") continue;
    targets.set(peer.address, {
      address: parseHostPort(peer.address),
      pin: { deviceId: parseDeviceId(peer.deviceId) },
    });
  }
  for (const { address, deviceId } of configured) {
    const text = formatHostPort(address);
    if (deviceId !== undefined) targets.set(text, { address, pin: { deviceId: parseDeviceId(deviceId) } });
    else if (!targets.has(text)) targets.set(text, { address, pin: {} });
  }
  return [...targets.values()];
}

/**
 * Keeps a session with the peer at `address` until `stop` aborts: reconnects after a loss,
 * waiting longer after each failed attempt (up to 15 s). A peer pinned by its device ID is
 * dialled at the address the store last learnt for it, and no longer once it is revoked.
 * `firstSession` is the session already open, if any. An address at which this device
 * answered itself (a peer's stale address, now this device's own) is not dialled again until
 * the peer's address changes, or for 10 minutes (an address without a device ID never changes,
 * and may lead to the peer again). Errors other than an unreachable or refusing peer end the loop.
 */
export async function keepConnected(
  device: Device,
  address: HostPort,
  pin: Pin,
  logger: Logger,
  stop: AbortSignal,
  firstSession?: Promise<void>,
): Promise<void> {
  const peerId = pin?.deviceId && formatDeviceId(pin.deviceId);
  const context = peerId ? { peer: shortOfDisplayId(peerId) } : undefined;
  let target = formatHostPort(address);
  /** The address at which this device reached itself, if it did, and when. */
  let ownAddress: { target: string; atMs: number } | undefined;
  let sessionDone = firstSession;
  let waitMs = FIRST_WAIT_MS;
  while (!stop.aborted) {
    if (sessionDone) {
      await Promise.race([sessionDone, new Promise((r) => stop.addEventListener("abort", r, { once: true }))]);
      if (stop.aborted) return;
      logger.warn(`lost connection to ${target}; retrying in ${(waitMs / 1000).toFixed(1)} s`, context);
    }
    await abortableSleep(sessionDone ? waitMs : 0, stop);
    if (stop.aborted) return;
    const known = peerId ? await device.peer(peerId) : undefined;
    if (known?.trusted === false) {
      logger.info(`${target} was revoked: no longer dialled`, context);
      return;
    }
    if (known?.address && known.address !== target) {
      address = parseHostPort(known.address);
      target = known.address;
    }
    const ownHere = ownAddress?.target === target && Date.now() - ownAddress.atMs < OWN_ADDRESS_MS;
    if (ownHere || (peerId && device.isConnected(peerId))) {
      // Its address leads here, or it dialled this device (one session is enough: two would
      // keep replacing each other): look again later.
      sessionDone = undefined;
      await abortableSleep(LONGEST_WAIT_MS, stop);
      continue;
    }
    try {
      sessionDone = (await device.connect(address, pin)).done;
      waitMs = FIRST_WAIT_MS;
    } catch (e) {
      if (!(e instanceof FsyncError)) throw e;
      if (e instanceof OwnAddressError) {
        ownAddress = { target, atMs: Date.now() };
        logger.debug(
          `${target} is this device: not dialled there for 10 minutes, or until the peer's address changes`,
          context,
        );
        sessionDone = undefined;
        continue;
      }
      logger.debug(`${target}: ${e.message}`, context);
      sessionDone = undefined;
      await abortableSleep(waitMs, stop);
      waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
