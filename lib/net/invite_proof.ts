/**
 * Invite proofs: an invite's secret is an Ed25519 seed, whose holder signs the connection's
 * channel binding; the sharer checks the signature with the public key it kept. The invite's
 * text format is lib/model's (`invite.ts`).
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

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
