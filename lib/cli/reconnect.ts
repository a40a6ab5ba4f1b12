import {
  type Device,
  formatDeviceId,
  formatHostPort,
  FsyncError,
  type HostPort,
  type Logger,
  shortOfDisplayId,
} from "../../mod.ts";
import { abortableSleep } from "./terminal.ts";

/** The first and the longest wait between two attempts to reach a peer. */
const FIRST_WAIT_MS = 500;
const LONGEST_WAIT_MS = 15_000;

/** How to check the dialled peer: its device ID and an invite secret. */
export type Pin = Parameters<Device["connect"]>[1];

/**
 * Keeps a session with the peer at `address` until `stop` aborts: reconnects after a loss,
 * waiting longer after each failed attempt (up to 15 s). `firstSession` is the session
 * already open, if any. Errors other than an unreachable or refusing peer end the loop.
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
  const target = formatHostPort(address);
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
    if (peerId && device.isConnected(peerId)) {
      // It dialled this device: one session is enough (two would keep replacing each other).
      sessionDone = undefined;
      await abortableSleep(LONGEST_WAIT_MS, stop);
      continue;
    }
    try {
      sessionDone = (await device.connect(address, pin)).done;
      waitMs = FIRST_WAIT_MS;
    } catch (e) {
      if (!(e instanceof FsyncError)) throw e;
      logger.debug(`${target}: ${e.message}`, context);
      sessionDone = undefined;
      await abortableSleep(waitMs, stop);
      waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS);
    }
  }
}
