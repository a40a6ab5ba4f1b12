import { createHash } from "node:crypto";
import { utf8Length } from "../model/mod.ts";

const MAX_KEY_PATH_BYTES = 1024;
const encoder = new TextEncoder();

/**
 * The KV key part for a path: the path itself, or for paths too long for a KV key (2 KiB)
 * a marker that sorts last followed by the path's SHA-256. The value keeps the full path.
 */
export function pathKey(path: string): string {
  if (utf8Length(path) <= MAX_KEY_PATH_BYTES) return path;
  return "\u{10FFFF}" + createHash("sha256").update(path).digest("hex");
}

/** Orders strings as Deno KV orders string key parts: by their UTF-8 bytes. */
export function compareKeyParts(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
