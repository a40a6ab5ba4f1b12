import { InvalidArgumentError } from "commander";
import {
  DEFAULT_PORT,
  FOLDER_MODES,
  type FolderMode,
  formatDeviceId,
  type HostPort,
  type Invite,
  isInvite,
  LOG_LEVELS,
  type LogLevel,
  parseDeviceId,
  parseHostPort,
  parseInvite,
} from "../model/mod.ts";

/** `host:port` (the port defaults to fsync's). */
export function parseAddress(value: string): HostPort {
  try {
    return parseHostPort(value, DEFAULT_PORT);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** A whole number option of at least `min`. */
export function wholeNumber(what: string, min = 1): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(`must be a whole number of ${what} (${min} or more)`);
    }
    return n;
  };
}

/** `join`'s first argument: an invite, or HOST:PORT. */
export function parsePeer(value: string): { address: HostPort; invite?: Invite } {
  try {
    if (!isInvite(value)) return { address: parseHostPort(value, DEFAULT_PORT) };
    const invite = parseInvite(value);
    return { address: invite.address, invite };
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** A device ID as typed (any case, with or without dashes), in display form. */
export function normalizeDeviceId(value: string): string {
  const id = parseDeviceId(value);
  if (!id) throw new InvalidArgumentError(`not a device ID: ${value}`);
  return formatDeviceId(id);
}

/** `--mode`. */
export function parseMode(value: string): FolderMode {
  if (!(FOLDER_MODES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${FOLDER_MODES.join(", ")}`);
  }
  return value as FolderMode;
}

/** `--log-level`. */
export function parseLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(", ")}`);
  }
  return value as LogLevel;
}
