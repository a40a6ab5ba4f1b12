import assert from "node:assert/strict";
import { connectStranger } from "../../tests/support/stranger.ts";
import type { Connection } from "./connection.ts";
import { dial, listen, type ListenOptions } from "./grpc_transport.ts";
import { type DeviceIdentity, loadOrCreateIdentity, proveIdentity } from "./identity.ts";
import { PROTOCOL_VERSION } from "./messages.ts";

const DEADLINE_MS = 600;

/** A new device identity in `home/name`. */
async function identityIn(home: string, name: string) {
  await Deno.mkdir(`${home}/${name}`);
  return await loadOrCreateIdentity(`${home}/${name}`, name);
}

/** A listener on 127.0.0.1 with a short deadline, the connections it handed over, and its warnings. */
async function listening(home: string, options: Partial<ListenOptions> = {}) {
  const identity = await identityIn(home, "server");
  const connections: Connection[] = [];
  const warnings: string[] = [];
  const listener = await listen(
    { host: "127.0.0.1", port: 0 },
    identity,
    (c) => connections.push(c),
    { authDeadlineMs: DEADLINE_MS, onWarning: (line) => warnings.push(line), ...options },
  );
  return { listener, identity, connections, warnings };
}

/** Resolves true when `closed` settles within `ms`, false otherwise. */
async function within(closed: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms));
  return await Promise.race([closed.then(() => true), late]).finally(() => clearTimeout(timer));
}

/** Dials the listener as `identity` and says a Hello that proves its key. */
async function dialWithHello(port: number, identity: DeviceIdentity, server: DeviceIdentity) {
  const client = await dial({ host: "127.0.0.1", port }, identity, server.deviceId);
  const ended = (async () => {
    for await (const _ of client.messages()) { /* none sent */ }
  })().catch(() => {});
  await client.send({
    type: "hello",
    deviceId: identity.deviceId,
    deviceName: "client",
    protocolVersion: PROTOCOL_VERSION,
    identityProof: proveIdentity(identity, client.channelBinding, "client"),
    inviteProof: new Uint8Array(),
  });
  return { client, ended };
}

Deno.test("listen: a connection not authenticated by the deadline is closed, pings or a stream or not; an authenticated one stays", async () => {
  const home = await Deno.makeTempDir({ prefix: "fsync-transport-" });
  const { listener, identity, connections } = await listening(home);
  const stranger = await identityIn(home, "stranger");
  const trusted = await identityIn(home, "trusted");
  try {
    const idle = await connectStranger(listener.port, stranger, { pingMs: 50 });
    const withStream = await connectStranger(listener.port, stranger, { streams: 1, pingMs: 50 });
    const { client, ended } = await dialWithHello(listener.port, trusted, identity);
    while (connections.length < 1) await new Promise((r) => setTimeout(r, 20));
    connections[0].authenticated();
    assert.ok(!(await within(idle.closed, DEADLINE_MS / 2)), "closed before the deadline");
    assert.ok(await within(idle.closed, DEADLINE_MS * 3), "an idle connection answering pings stayed open");
    assert.ok(await within(withStream.closed, DEADLINE_MS), "a connection with an idle Session stream stayed open");
    assert.ok(!(await within(ended, DEADLINE_MS)), "the authenticated connection was closed");
    assert.equal(connections.length, 1, "a connection without a Hello was handed over");
    client.close();
    await ended;
    await new Promise((r) => setTimeout(r, 400)); // the TCP-level close completes
  } finally {
    await listener.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("listen: before authentication, a second stream or more than a few KiB of input closes the connection", async () => {
  const home = await Deno.makeTempDir({ prefix: "fsync-transport-" });
  const { listener, warnings } = await listening(home, { authDeadlineMs: 30_000 });
  const stranger = await identityIn(home, "stranger");
  try {
    const twoStreams = await connectStranger(listener.port, stranger, { streams: 2, resetEach: true });
    const bigMessage = await connectStranger(listener.port, stranger, { streams: 1, bytesPerStream: 1 << 20 });
    const smallMessage = await connectStranger(listener.port, stranger, { streams: 1, bytesPerStream: 2048 });
    assert.ok(await within(twoStreams.closed, 3_000), "a second stream was accepted");
    assert.ok(await within(bigMessage.closed, 3_000), "1 MiB of input was accepted");
    assert.ok(!(await within(smallMessage.closed, 500)), "2 KiB of a message closed the connection");
    smallMessage.close();
    await smallMessage.closed;
  } finally {
    await listener.close();
    await Deno.remove(home, { recursive: true });
  }
  // The first closure is reported at once, the next within a minute: one line here.
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /^closed [12] unauthenticated connections? from 127\.0\.0\.1 \([12]\): /);
});

Deno.test("listen: a peer whose Hello proves its key outlives the deadline while the device decides; one whose first message is not such a Hello is closed", async () => {
  const home = await Deno.makeTempDir({ prefix: "fsync-transport-" });
  const { listener, identity, connections } = await listening(home);
  const joiner = await identityIn(home, "joiner");
  try {
    const { client, ended } = await dialWithHello(listener.port, joiner, identity);
    const liar = await dial({ host: "127.0.0.1", port: listener.port }, joiner, identity.deviceId);
    const liarEnded = (async () => {
      for await (const _ of liar.messages()) { /* none sent */ }
    })().catch(() => {});
    await liar.send({
      type: "hello",
      deviceId: joiner.deviceId,
      deviceName: "liar",
      protocolVersion: PROTOCOL_VERSION,
      identityProof: proveIdentity(joiner, client.channelBinding, "client"), // another connection's
      inviteProof: new Uint8Array(),
    });
    while (connections.length < 1) await new Promise((r) => setTimeout(r, 20));
    const hello = await connections[0].messages()[Symbol.asyncIterator]().next();
    assert.equal(hello.value?.type, "hello");
    assert.ok(await within(liarEnded, DEADLINE_MS / 2), "a Hello with a wrong proof was kept");
    assert.ok(!(await within(ended, DEADLINE_MS * 3)), "closed while the device was deciding");
    assert.equal(connections.length, 1);
    client.close();
    liar.close();
    await ended;
    await new Promise((r) => setTimeout(r, 400)); // the TCP-level close completes
  } finally {
    await listener.close();
    await Deno.remove(home, { recursive: true });
  }
});
