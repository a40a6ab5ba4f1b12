import { formatHostPort, type HostPort, parseHostPort } from "./address.ts";
import { formatDeviceId, parseDeviceId } from "./device_id.ts";
import { InvalidAddressError } from "./errors.ts";

/** What a joiner needs to reach a sharer, check who it is, and be trusted by it. */
export interface Invite {
  readonly address: HostPort;
  /** The sharer's device ID: the joiner pins it before sending anything. */
  readonly deviceId: Uint8Array;
  /** 32 random bytes known only to whoever holds the invite (the sharer keeps the public key they make). */
  readonly secret: Uint8Array;
}

const SCHEME = "fsync://";

/**
 * The invite as one string to paste: `fsync://HOST:PORT/DEVICE-ID/SECRET` (base32, no dashes).
 *
 * @example
 * ```ts
 * import { formatInvite, parseInvite } from "./invite.ts";
 * import assert from "node:assert/strict";
 * const invite = { address: { host: "10.0.0.2", port: 50051 }, deviceId: new Uint8Array(32).fill(1), secret: new Uint8Array(32).fill(2) };
 * assert.deepEqual(parseInvite(formatInvite(invite)), invite);
 * ```
 */
export function formatInvite(invite: Invite): string {
  const compact = (bytes: Uint8Array) => formatDeviceId(bytes).replaceAll("-", "");
  return `${SCHEME}${formatHostPort(invite.address)}/${compact(invite.deviceId)}/${compact(invite.secret)}`;
}

/** True when `text` looks like an invite rather than HOST:PORT. */
export function isInvite(text: string): boolean {
  return text.startsWith(SCHEME);
}

/**
 * Parses an invite made by {@linkcode formatInvite}.
 *
 * @throws {InvalidAddressError} when it is not a complete invite.
 */
export function parseInvite(text: string): Invite {
  const bad = (why: string) =>
    new InvalidAddressError(`not a valid fsync invite (${why}): ${text.slice(0, 80)}`, {
      hint: "paste the whole fsync://... line that `fsync share` printed",
    });
  if (!isInvite(text)) throw bad(`it must start with ${SCHEME}`);
  const parts = text.slice(SCHEME.length).trim().split("/");
  if (parts.length !== 3) throw bad("expected fsync://HOST:PORT/DEVICE-ID/SECRET");
  const address = parseHostPort(parts[0]);
  const deviceId = parseDeviceId(parts[1]);
  if (!deviceId) throw bad("the device ID is damaged");
  const secret = parseDeviceId(parts[2]);
  if (!secret) throw bad("the secret is damaged");
  return { address, deviceId, secret };
}
