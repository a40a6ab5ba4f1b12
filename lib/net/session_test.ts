import assert from "node:assert/strict";
import type { Connection } from "./connection.ts";
import { PeerUnreachableError } from "./errors.ts";
import { type DeviceIdentity, loadOrCreateIdentity, proveIdentity } from "./identity.ts";
import { connectionPair } from "./memory_transport.ts";
import { PROTOCOL_VERSION } from "./messages.ts";
import { PeerSession, type SessionOptions } from "./session.ts";

const WANT = { path: "big1.bin", offset: 0, size: 4, hash: new Uint8Array(32) };

/** A connection whose sends hang, once `stall()` is called, as over a relay that stopped forwarding. */
function stallable(connection: Connection): { connection: Connection; stall: () => void } {
  let stalled = false;
  return {
    connection: { ...connection, send: (m) => stalled ? new Promise(() => {}) : connection.send(m) },
    stall: () => stalled = true,
  };
}

function hello(identity: DeviceIdentity, connection: Connection) {
  return {
    type: "hello" as const,
    deviceId: identity.deviceId,
    deviceName: "test",
    protocolVersion: PROTOCOL_VERSION,
    identityProof: proveIdentity(identity, connection.channelBinding, connection.role),
    inviteProof: new Uint8Array(),
  };
}

/** Two sessions over an in-memory pair; the client's sends can be stalled. */
async function sessions(options: SessionOptions) {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-session-" });
  await Promise.all([Deno.mkdir(`${tmp}/a`), Deno.mkdir(`${tmp}/b`)]);
  const [a, b] = await Promise.all([loadOrCreateIdentity(`${tmp}/a`, "a"), loadOrCreateIdentity(`${tmp}/b`, "b")]);
  await Deno.remove(tmp, { recursive: true });
  const [clientEnd, serverEnd] = connectionPair(a, b);
  const { connection, stall } = stallable(clientEnd);
  const [client, server] = await Promise.all([
    PeerSession.open(connection, hello(a, connection), options),
    PeerSession.open(serverEnd, hello(b, serverEnd), options),
  ]);
  const served = server.run(() => Promise.resolve(new Uint8Array([1, 2, 3, 4])), () => Promise.resolve());
  const running = client.run(() => Promise.resolve("no-such-file" as const), () => Promise.resolve());
  return { client, server, stall, ended: Promise.all([served, running.catch(() => {})]) };
}

/** `promise`, or a failure after `ms` (so a test that would hang fails instead). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`${what}: hung`)), ms));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

Deno.test("fetchBlock: the peer's block comes back", async () => {
  const { client, server, ended } = await sessions({});
  assert.deepEqual(await client.fetchBlock("f", WANT), new Uint8Array([1, 2, 3, 4]));
  await client.close("done");
  await server.close("done");
  await ended;
});

Deno.test("fetchBlock over a stalled link: the request's sending counts against the timeout, which ends the session (no rejection left unhandled)", async () => {
  const { client, server, stall, ended } = await sessions({ blockTimeoutMs: 200 });
  stall();
  await assert.rejects(within(client.fetchBlock("f", WANT), 5_000, "fetchBlock"), (e) => {
    assert.ok(e instanceof PeerUnreachableError, String(e));
    assert.match(e.message, /no answer from memory:server for 0\.2 s \(a block of big1\.bin\)/);
    return true;
  });
  assert.ok(client.closed, "the session ended");
  await assert.rejects(client.fetchBlock("f", WANT), PeerUnreachableError);
  await within(client.close("stalled"), 5_000, "close over a stalled link");
  await server.close("done");
  await ended;
});

Deno.test("fetchBlock while the session ends before the request could be sent: fails with the reason (no rejection left unhandled)", async () => {
  const { client, server, stall, ended } = await sessions({ blockTimeoutMs: 60_000 });
  stall();
  const fetching = client.fetchBlock("f", WANT);
  await new Promise((r) => setTimeout(r, 50));
  await server.close("going away"); // the client's run sees the end and shuts the session
  await assert.rejects(within(fetching, 5_000, "fetchBlock"), PeerUnreachableError);
  await ended;
});
