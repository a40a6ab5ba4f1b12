import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as net from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { EnvelopeSchema } from "../gen/filesync_pb.ts";
import { blockBuffers } from "../model/mod.ts";
import type { Connection } from "./connection.ts";
import { fromWire } from "./convert.ts";
import { DATA_ALPN, dataChannelOf, dataPathPinned, dialData } from "./data_path.ts";
import { framePartsOf, messageOfFrame } from "./frame_codec.ts";
import { PeerUnreachableError, ProtocolError, UntrustedPeerError } from "./errors.ts";
import { connFrames } from "./frames.ts";
import { dial, listen, type ListenOptions } from "./grpc_transport.ts";
import { type DeviceIdentity, loadOrCreateIdentity, proveIdentity } from "./identity.ts";
import { MAX_MESSAGE_BYTES, type Message, PROTOCOL_VERSION } from "./messages.ts";
import { type BlockAnswerer, PeerSession, type SessionOptions } from "./session.ts";

const MiB = 1 << 20;
const WANT = { path: "f.bin", offset: 0, size: MiB, hash: new Uint8Array(32) };
const DEADLINE_MS = 2_000;

/** A block whose bytes tell their offset, so a mixed-up response shows. */
function blockAt(offset: number, size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => ((offset + i) * 7 + (i >> 10)) & 0xff);
}

const answerFromBlockAt: BlockAnswerer = (_folder, want) => Promise.resolve(blockAt(want.offset, want.size));

function hello(identity: DeviceIdentity, connection: Connection): Extract<Message, { type: "hello" }> {
  return {
    type: "hello",
    deviceId: identity.deviceId,
    deviceName: identity.displayId.slice(0, 7),
    protocolVersion: PROTOCOL_VERSION,
    identityProof: proveIdentity(identity, connection.channelBinding, connection.role),
    inviteProof: new Uint8Array(),
    dataPath: connection.dataPath !== undefined,
  };
}

/** `promise`, or a failure after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`${what}: hung`)), ms));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Pair {
  client: PeerSession;
  server: PeerSession;
  /** Each run's outcome: undefined when it ended quietly, else its error. */
  clientRun: Promise<Error | undefined>;
  serverRun: Promise<Error | undefined>;
  /** The tickets the client was offered, as it received them. */
  tickets: Uint8Array[];
  /** Why the client's data connection could not open, as its session reported it. */
  failures: Error[];
  port: number;
  serverIdentity: DeviceIdentity;
  warnings: string[];
  /** Ends both sessions; the listener stays. */
  endSessions(): Promise<void>;
  close(): Promise<void>;
}

interface PairOptions {
  readonly listen?: Partial<ListenOptions>;
  readonly dialDataPath?: boolean;
  readonly serverAnswers?: BlockAnswerer;
  readonly clientAnswers?: BlockAnswerer;
  readonly client?: SessionOptions;
  /** The client keeps the tickets it is offered instead of opening data connections. */
  readonly holdTickets?: boolean;
  /** The client opens its data connection with a ticket never issued (the listener refuses it). */
  readonly wrongTicket?: boolean;
  /** The client's data connection fails this long after the offer (instead of opening). */
  readonly failAfterMs?: number;
  /** Dial through this relay (its target is set to the listener). */
  readonly via?: Relay;
}

/**
 * A listener and a dialled session on 127.0.0.1, both running, admitted. The server answers
 * block requests with `serverAnswers`, the client with `clientAnswers` (both blockAt unless given).
 */
async function pair(options: PairOptions = {}): Promise<Pair> {
  const home = await Deno.makeTempDir({ prefix: "fsync-data-path-" });
  await Promise.all([Deno.mkdir(`${home}/a`), Deno.mkdir(`${home}/b`)]);
  const [a, b] = await Promise.all([loadOrCreateIdentity(`${home}/a`, "a"), loadOrCreateIdentity(`${home}/b`, "b")]);
  const warnings: string[] = [];
  const accepted = Promise.withResolvers<PeerSession>();
  const listener = await listen({ host: "127.0.0.1", port: 0 }, b, (connection) => {
    connection.authenticated();
    PeerSession.open(connection, hello(b, connection)).then(accepted.resolve, accepted.reject);
  }, { authDeadlineMs: DEADLINE_MS, onWarning: (line) => warnings.push(line), ...options.listen });
  if (options.via) options.via.target = listener.port;
  const dialled = await dial({ host: "127.0.0.1", port: options.via?.port ?? listener.port }, a, b.deviceId, {
    dataPath: options.dialDataPath ?? true,
  });
  const tickets: Uint8Array[] = [];
  const open = dialled.dataPath?.open;
  const connection: Connection = open
    ? {
      ...dialled,
      dataPath: {
        open: (ticket) => {
          tickets.push(ticket);
          if (options.holdTickets) return Promise.reject(new Error("held by the test"));
          if (options.failAfterMs !== undefined) {
            return new Promise((_, reject) => setTimeout(() => reject(new Error("late failure")), options.failAfterMs));
          }
          return open(options.wrongTicket ? crypto.getRandomValues(new Uint8Array(32)) : ticket);
        },
      },
    }
    : dialled;
  const failures: Error[] = [];
  const [client, server] = await Promise.all([
    PeerSession.open(connection, hello(a, connection), {
      ...options.client,
      onDataPathFailure: (e) => failures.push(e),
    }),
    accepted.promise,
  ]);
  const outcome = (run: Promise<void>) => run.then(() => undefined, (e: Error) => e);
  const serverRun = outcome(server.run(options.serverAnswers ?? answerFromBlockAt, () => Promise.resolve()));
  const clientRun = outcome(client.run(options.clientAnswers ?? answerFromBlockAt, () => Promise.resolve()));
  const endSessions = async () => {
    await client.close("done");
    await server.close("done");
    await Promise.all([clientRun, serverRun]);
  };
  return {
    client,
    server,
    clientRun,
    serverRun,
    tickets,
    failures,
    port: listener.port,
    serverIdentity: b,
    warnings,
    endSessions,
    async close() {
      await endSessions();
      await listener.close();
      await Deno.remove(home, { recursive: true });
      await new Promise((r) => setTimeout(r, 400)); // the TCP-level closes and grpc-js's timers complete
    },
  };
}

/** A TCP relay on 127.0.0.1 that keeps each relayed pair of sockets, so a test can cut one connection. */
class Relay {
  target = 0;
  readonly links: [net.Socket, net.Socket][] = [];
  private constructor(readonly port: number, private server: net.Server) {}

  static async start(): Promise<Relay> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const relay = new Relay((server.address() as net.AddressInfo).port, server);
    server.on("connection", (client: net.Socket) => {
      const upstream = net.connect({ host: "127.0.0.1", port: relay.target });
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("close", end).on("error", end);
      upstream.on("close", end).on("error", end);
      relay.links.push([client, upstream]);
    });
    return relay;
  }

  async close(): Promise<void> {
    for (const link of this.links) link.forEach((s) => s.destroy());
    await new Promise((r) => this.server.close(r));
  }
}

/** Native TLS to the listener asking for the data path, as fsync's dialler does, but scripted. */
async function rawDataConnection(port: number, serverCertPem: string): Promise<Deno.TlsConn> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await Deno.startTls(tcp, { hostname: "fsync", caCerts: [serverCertPem], alpnProtocols: [DATA_ALPN] });
  await conn.handshake();
  return conn;
}

/** True when the listener closes `conn` within `ms` (reads until the end; data is ignored). */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buffer = new Uint8Array(64 << 10);
  const closed = (async () => {
    try {
      while (await conn.read(buffer) !== null) { /* drained */ }
    } catch { /* reset: closed too */ }
    return true;
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms));
  try {
    return await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
    await closed;
  }
}

/** A message as one frame, bytes and all. */
function frameOf(message: Message): Uint8Array {
  const bytes = framePartsOf(message)[0];
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

Deno.test("framePartsOf: a block response's data goes out as its own part, and decodes as the whole message", () => {
  for (const size of [1, 127, 128, 16_384, MiB]) {
    const message: Message = { type: "blockResponse", id: 2 ** 40 + size, data: blockAt(3, size), error: "none" };
    const parts = framePartsOf(message);
    assert.equal(parts.length, 2);
    assert.equal(parts[1], message.data, "the data is not copied");
    const joined = new Uint8Array(parts[0].length + parts[1].length);
    joined.set(parts[0]);
    joined.set(parts[1], parts[0].length);
    assert.deepEqual(fromWire(fromBinary(EnvelopeSchema, joined)), message);
  }
  const failed: Message = { type: "blockResponse", id: 9, data: new Uint8Array(), error: "changed" };
  assert.deepEqual(fromWire(fromBinary(EnvelopeSchema, framePartsOf(failed)[0])), failed);
});

Deno.test("data path: the listener offers it, the dialler opens it, and 1 MiB blocks cross it both ways intact", async () => {
  const p = await pair();
  try {
    await until(() => p.client.dataPathOpen && p.server.dataPathOpen, "data path open");
    assert.equal(p.tickets.length, 1);
    const fetched = await Promise.all(
      [0, 1, 2, 3].map((i) => p.client.fetchBlock("f", { ...WANT, offset: i * MiB })),
    );
    fetched.forEach((data, i) => assert.deepEqual(data, blockAt(i * MiB, MiB)));
    assert.deepEqual(await p.server.fetchBlock("f", { ...WANT, offset: 5 }), blockAt(5, MiB));
  } finally {
    await p.close();
  }
  assert.deepEqual(p.warnings, []);
});

Deno.test("data path: a served block's buffer goes back to the pool once written, at both ends", async () => {
  // Each end answers from pooled buffers and, like a pull, gives back what it fetched once
  // done: one fetch at a time then cycles through one or two buffers. An end that never gave
  // back what it sent would take a new buffer per block.
  const served = new Set<ArrayBufferLike>();
  const answerFromPool: BlockAnswerer = (_folder, want) => {
    const data = blockBuffers.take(want.size);
    data.set(blockAt(want.offset, want.size));
    served.add(data.buffer);
    return Promise.resolve(data);
  };
  const p = await pair({ serverAnswers: answerFromPool, clientAnswers: answerFromPool });
  try {
    await until(() => p.client.dataPathOpen && p.server.dataPathOpen, "data path open");
    for (const [name, fetcher] of [["the listener's", p.client], ["the dialler's", p.server]] as const) {
      served.clear();
      for (let i = 0; i < 12; i++) {
        const data = await fetcher.fetchBlock("f", { ...WANT, offset: i * MiB });
        assert.deepEqual(data, blockAt(i * MiB, MiB));
        blockBuffers.give(data);
        await new Promise((r) => setTimeout(r, 5)); // the sender's write completes
      }
      assert.ok(served.size <= 3, `${name} end served 12 blocks from ${served.size} buffers`);
    }
  } finally {
    await p.close();
  }
});

Deno.test("data path: the listener's end of a data connection sends TCP keepalives after 20 s idle", async () => {
  const p = await pair();
  try {
    await until(() => p.client.dataPathOpen && p.server.dataPathOpen, "data path open");
    const ss = await new Deno.Command("ss", { args: ["-tno", "state", "established", `sport = :${p.port}`] }).output();
    const timers = [...new TextDecoder().decode(ss.stdout).matchAll(/timer:\(keepalive,(\d+)sec/g)].map((m) => +m[1]);
    assert.equal(timers.length, 1, "one keepalive timer among the listener's connections: the data connection's");
    assert.ok(timers[0] <= 20, `keepalive after ${timers[0]} s`);
  } finally {
    await p.close();
  }
});

Deno.test("data path: a peer without it, at either end, keeps its blocks on the Session", async (t) => {
  for (
    const [name, options] of [
      ["listener without", { listen: { dataPath: false } }],
      ["dialler without", { dialDataPath: false }],
    ] as const
  ) {
    await t.step(name, async () => {
      const p = await pair(options);
      try {
        assert.deepEqual(await p.client.fetchBlock("f", WANT), blockAt(0, MiB));
        assert.deepEqual(await p.server.fetchBlock("f", WANT), blockAt(0, MiB));
        assert.equal(p.client.dataPathOpen || p.server.dataPathOpen, false);
        assert.equal(p.tickets.length, 0, "no ticket offered");
      } finally {
        await p.close();
      }
    });
  }
});

Deno.test("data path: strangers' data connections are closed at once and counted, and sessions go on", async (t) => {
  const p = await pair();
  try {
    await until(() => p.client.dataPathOpen, "data path open");
    const pem = p.serverIdentity.certPem;
    const frame = frameOf;
    const cases: [string, Uint8Array][] = [
      ["garbage instead of a frame", new TextEncoder().encode("GET / HTTP/1.1\r\nHost: fsync\r\n\r\n")],
      ["a frame length of 4 GiB (nothing after it)", new Uint8Array([0xff, 0xff, 0xff, 0xff])],
      ["a frame longer than a DataHello", new Uint8Array([0, 0, 1, 0])],
      [
        "a ticket never issued (another listener's, say)",
        frame({ type: "dataHello", ticket: crypto.getRandomValues(new Uint8Array(32)) }),
      ],
      ["the ticket already used by the session", frame({ type: "dataHello", ticket: p.tickets[0] })],
      ["a block request instead of a DataHello", frame({ type: "blockRequest", id: 1, folderId: "f", ...WANT })],
    ];
    for (const [name, bytes] of cases) {
      await t.step(name, async () => {
        const conn = await rawDataConnection(p.port, pem);
        await conn.write(bytes);
        assert.ok(await closedWithin(conn, DEADLINE_MS / 2), "still open");
      });
    }
    await t.step("silence: closed at the deadline of unauthenticated connections", async () => {
      const conn = await rawDataConnection(p.port, pem);
      assert.ok(await closedWithin(conn, DEADLINE_MS * 3), "still open");
    });
    assert.deepEqual(await p.client.fetchBlock("f", WANT), blockAt(0, MiB), "the session was disturbed");
    assert.ok(p.client.dataPathOpen);
  } finally {
    await p.close();
  }
  assert.equal(p.warnings.length, 1, p.warnings.join("\n")); // the first closure at once, the rest within a minute
  assert.match(p.warnings[0], /unauthenticated connection from 127\.0\.0\.1 .*without a valid ticket|too much input/);
});

Deno.test("data path: a ticket opens nothing once its session ended", async () => {
  const p = await pair({ holdTickets: true });
  try {
    await until(() => p.tickets.length === 1, "ticket offered");
    assert.equal(p.client.dataPathOpen, false, "a held ticket opened the data path");
    await p.endSessions();
    const conn = await rawDataConnection(p.port, p.serverIdentity.certPem);
    await conn.write(frameOf({ type: "dataHello", ticket: p.tickets[0] }));
    assert.ok(await closedWithin(conn, DEADLINE_MS / 2), "a dead session's ticket was accepted");
    await until(() => p.warnings.length > 0, "the refusal is reported");
    assert.match(p.warnings[0], /without a valid ticket/);
  } finally {
    await p.close();
  }
});

Deno.test("data path: a data connection the listener refuses leaves the blocks on the Session, and says why", async () => {
  const p = await pair({ wrongTicket: true });
  try {
    await until(() => p.failures.length === 1, "the failure is reported");
    assert.match(p.failures[0].message, /did not accept the data connection/);
    assert.equal(p.client.dataPathOpen, false);
    assert.deepEqual(await p.client.fetchBlock("f", WANT), blockAt(0, MiB), "blocks came by the Session");
    assert.deepEqual(await p.server.fetchBlock("f", WANT), blockAt(0, MiB));
  } finally {
    await p.close();
  }
});

Deno.test("data path: a data connection failing while its session says goodbye is no warning", async () => {
  const p = await pair({ failAfterMs: 300 });
  try {
    await until(() => p.tickets.length === 1, "ticket offered");
    await p.client.close("done");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(p.failures, [], "a failure reported after goodbye");
  } finally {
    await p.close();
  }
});

Deno.test("data path: a listener with another certificate than the session's is refused by the dialler", async () => {
  const p = await pair({ holdTickets: true });
  try {
    await until(() => p.tickets.length === 1, "ticket offered");
    const home = await Deno.makeTempDir();
    const other = await loadOrCreateIdentity(home, "other");
    await Deno.remove(home, { recursive: true });
    const der = new Uint8Array(new X509Certificate(other.certPem).raw);
    await assert.rejects(dialData({ host: "127.0.0.1", port: p.port }, der, p.tickets[0]), UntrustedPeerError);
  } finally {
    await p.close();
  }
});

Deno.test("data path: with extra TLS roots configured for Deno, the dialler keeps its blocks on the Session", async () => {
  assert.equal(dataPathPinned(), true);
  for (const [name, value] of [["DENO_TLS_CA_STORE", "system"], ["DENO_CERT", "/etc/ssl/extra.pem"]]) {
    Deno.env.set(name, value);
    try {
      assert.equal(dataPathPinned(), false, `${name}=${value}`);
      const p = await pair();
      try {
        assert.deepEqual(await p.client.fetchBlock("f", WANT), blockAt(0, MiB));
        assert.equal(p.tickets.length, 0, "no ticket asked for");
      } finally {
        await p.close();
      }
    } finally {
      Deno.env.delete(name);
    }
  }
  assert.equal(dataPathPinned(), true, "mozilla's roots only");
});

Deno.test("data path: a DataHello and the requests right behind it, in one write, are all served", async () => {
  const p = await pair({ holdTickets: true });
  try {
    await until(() => p.tickets.length === 1, "ticket offered");
    const conn = await rawDataConnection(p.port, p.serverIdentity.certPem);
    const hello = frameOf({ type: "dataHello", ticket: p.tickets[0] });
    const request = frameOf({ type: "blockRequest", id: 1, folderId: "f", ...WANT, offset: 3 });
    const both = new Uint8Array(hello.length + request.length);
    both.set(hello);
    both.set(request, hello.length);
    await conn.write(both);
    const frames = connFrames(conn, MAX_MESSAGE_BYTES);
    const reader = frames.frames()[Symbol.asyncIterator]();
    const next = async () => messageOfFrame((await within(reader.next(), 5_000, "a frame")).value!);
    assert.deepEqual(await next(), { type: "dataHello", ticket: p.tickets[0] }, "the listener's echo first");
    const answer = await next();
    assert.equal(answer.type, "blockResponse");
    assert.deepEqual((answer as Extract<Message, { type: "blockResponse" }>).data, blockAt(3, MiB));
    frames.close();
  } finally {
    await p.close();
  }
});

Deno.test("data path: a flood of block requests on the data connection is a protocol error", async () => {
  const never: BlockAnswerer = () => new Promise(() => {});
  const p = await pair({ serverAnswers: never, client: { maxBytesInFlight: 1 << 30 } });
  try {
    await until(() => p.client.dataPathOpen && p.server.dataPathOpen, "data path open");
    for (let id = 1; id <= 1100; id++) p.client.fetchBlock("f", { ...WANT, size: 1, offset: id }).catch(() => {});
    const failure = await within(p.serverRun, 10_000, "server run");
    assert.ok(failure instanceof ProtocolError, String(failure));
    assert.match(failure.message, /over 1024 block requests unanswered/);
  } finally {
    await p.close();
  }
});

Deno.test("data path: a cut data connection ends the session and its pending fetches (the device reconnects and resumes)", async () => {
  const never: BlockAnswerer = () => new Promise(() => {});
  const relay = await Relay.start();
  const p = await pair({ serverAnswers: never, via: relay });
  try {
    await until(() => p.client.dataPathOpen && p.server.dataPathOpen, "data path open");
    // dial()'s TCP probe, the session, then its data connection.
    assert.equal(relay.links.length, 3, "a data connection beside the session");
    const pending = p.client.fetchBlock("f", WANT);
    await new Promise((r) => setTimeout(r, 50));
    relay.links[2].forEach((socket) => socket.destroy());
    await assert.rejects(within(pending, 10_000, "pending fetch"), PeerUnreachableError);
    assert.equal(await within(p.clientRun, 10_000, "client run"), undefined, "ended as a lost peer");
    await until(() => p.server.closed, "the listener's session ended too");
  } finally {
    await p.close();
    await relay.close();
  }
});

Deno.test("connFrames: a frame over the limit is a protocol error before it is read", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await accepted;
  try {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, MAX_MESSAGE_BYTES + 1);
    await server.write(header);
    const channel = dataChannelOf(connFrames(conn, MAX_MESSAGE_BYTES));
    await assert.rejects(async () => {
      for await (const _ of channel.messages()) { /* none */ }
    }, /over the limit/);
  } finally {
    conn.close();
    server.close();
    listener.close();
  }
});
