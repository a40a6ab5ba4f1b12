import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { formatDeviceId, parseDeviceId } from "../model/mod.ts";
import { formatHostPort, type HostPort, parseHostPort } from "./address.ts";
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

/** The size of an invite proof: an Ed25519 signature. */
export const INVITE_PROOF_BYTES = 64;

/** DER prefixes that wrap a raw Ed25519 seed (PKCS#8) and a raw public key (SPKI). */
const PKCS8_PREFIX = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** Domain separation: an invite proof signs this label, then the connection's channel binding. */
const PROOF_LABEL = new TextEncoder().encode("fsync invite proof v1\0");

/**
 * A fresh invite key. The secret (an Ed25519 seed) goes into the invite and nowhere else;
 * the sharer keeps only the public key, which checks proofs but cannot make one, so a copy
 * of the sharer's store lets nobody join.
 */
export function newInviteKey(): { secret: Uint8Array; publicKey: Uint8Array } {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const spki = createPublicKey(privateKeyOf(secret)).export({ format: "der", type: "spki" });
  return { secret, publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)) };
}

/** The proof of holding an invite's `secret` for one connection: a signature over its channel binding. */
export function inviteProof(secret: Uint8Array, channelBinding: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, proofMessage(channelBinding), privateKeyOf(secret)));
}

/** True when `proof` was made for this connection with the secret of the invite whose public key is `publicKey`. */
export function inviteProofMatches(publicKey: Uint8Array, channelBinding: Uint8Array, proof: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
  return proof.length === INVITE_PROOF_BYTES && verify(null, proofMessage(channelBinding), key, proof);
}

function privateKeyOf(secret: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: "der", type: "pkcs8" });
}

function proofMessage(channelBinding: Uint8Array): Uint8Array {
  const message = new Uint8Array(PROOF_LABEL.length + channelBinding.length);
  message.set(PROOF_LABEL);
  message.set(channelBinding, PROOF_LABEL.length);
  return message;
}
