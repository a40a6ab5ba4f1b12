import { InvalidAddressError } from "./errors.ts";

/** Port fsync listens on unless told otherwise. */
export const DEFAULT_PORT = 50051;

/** A TCP endpoint. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT`, or a bare host (which gets `defaultPort` when given).
 *
 * @throws {InvalidAddressError} with the expected form.
 * @example
 * ```ts
 * import { parseHostPort } from "./address.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseHostPort("127.0.0.1:50051"), { host: "127.0.0.1", port: 50051 });
 * assert.deepEqual(parseHostPort("[::1]:7"), { host: "::1", port: 7 });
 * ```
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  const fail = (why: string): never => {
    throw new InvalidAddressError(`invalid address ${JSON.stringify(text)}: ${why}`, {
      hint: "expected HOST:PORT, for example 192.168.1.20:50051",
    });
  };
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s/\[\]]+))(?::(\d{1,5}))?$/.exec(text);
  if (!m) return fail("expected HOST:PORT");
  const host = m[1] ?? m[2];
  if (m[3] === undefined && defaultPort === undefined) return fail("missing :PORT");
  const port = m[3] === undefined ? defaultPort! : Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail(`port ${m[3]} is not in 0-65535`);
  return { host, port };
}

/** Formats an endpoint back as `HOST:PORT`, bracketing IPv6 hosts. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
