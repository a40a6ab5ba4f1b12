const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const GROUP = 7;

/**
 * Formats a 32-byte device ID (SHA-256 of the device certificate) for people: RFC 4648
 * base32 without padding, in dash-separated groups of seven.
 *
 * @example
 * ```ts
 * import { formatDeviceId, parseDeviceId } from "./device_id.ts";
 * import assert from "node:assert/strict";
 * const id = new Uint8Array(32).fill(7);
 * assert.deepEqual(parseDeviceId(formatDeviceId(id)), id);
 * ```
 */
export function formatDeviceId(id: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of id) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out.match(new RegExp(`.{1,${GROUP}}`, "g"))!.join("-");
}

/**
 * Parses a device ID written by {@linkcode formatDeviceId} (dashes, spaces and case are
 * ignored). Returns undefined when it is not a 32-byte base32 ID.
 */
export function parseDeviceId(text: string): Uint8Array | undefined {
  const clean = text.replace(/[-\s]/g, "").toUpperCase();
  if (clean.length !== 52) return undefined;
  const out = new Uint8Array(32);
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const ch of clean) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) return undefined;
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      if (n < 32) out[n++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  // The last character carries 4 bits of padding: only the canonical form (zeros) is valid.
  return n === 32 && value === 0 ? out : undefined;
}

/** The short form of a device ID used in version vectors and conflict names. */
export function shortDeviceId(id: Uint8Array): string {
  return formatDeviceId(id).slice(0, GROUP);
}

/** The short form of a device ID already formatted by {@linkcode formatDeviceId}. */
export function shortOfDisplayId(displayId: string): string {
  return displayId.slice(0, GROUP);
}
