/**
 * One side of the `floor` benchmark, in a process of its own: the least a pull must do,
 * over fsync's own transport (lib/net: a PeerSession over mutual TLS, its blocks on the data
 * connection) and nothing else of fsync (no index, no planning, no hashing). What it measures
 * bounds what fsync can reach here.
 *
 *   serve HOME ROOT            answers block requests: `memory` from a buffer, other paths
 *                              read from ROOT (open, seek, read, fstat, close, as fsync's
 *                              block server does for small files); prints "port N"
 *   stream HOME PORT MIB       fetches MIB MiB of `memory`, 1 MiB per request, 16 in flight
 *   files HOME PORT SRC DEST   fetches every file under SRC whole, 32 at once, each made
 *                              durable as a pull does: temporary file created, written and
 *                              fdatasynced, mode and mtime set, renamed into DEST; then each
 *                              directory fsynced once
 *
 * `stream` and `files` print `{"seconds": S}`: the time from the first request to the last
 * byte made durable (connecting is left out; the caller times the whole process too).
 */
// deno-lint-ignore-file no-console -- prints its port and figures for the parent process
import { dirname, join, relative } from "node:path";
import {
  type BlockAnswerer,
  type Connection,
  dial,
  listen,
  loadOrCreateIdentity,
  PeerSession,
  PROTOCOL_VERSION,
  proveIdentity,
} from "../../lib/net/mod.ts";
import { readFullSync } from "../../lib/fs/mod.ts";
import { fillPseudoRandom } from "../../tests/support/gen_tree.ts";

/** The path a `stream` request names: answered from memory, not from disk. */
const MEMORY = "memory";
const MIB = 1 << 20;
/** As fsync's puller: requests for one large file in flight, and files pulled at once. */
const REQUESTS_IN_FLIGHT = 16;
const FILES_AT_ONCE = 32;

const [role, home, ...rest] = Deno.args;
Deno.mkdirSync(home, { recursive: true, mode: 0o700 });
const identity = await loadOrCreateIdentity(home, `floor-${role}`);
if (role === "serve") await serve(rest[0]);
else if (role === "stream") await stream(Number(rest[0]), Number(rest[1]));
else if (role === "files") await files(Number(rest[0]), rest[1], rest[2]);
else throw new Error(`floor_peer: unknown role ${role}`);

/** Says Hello on `connection` as a data-path-capable fsync would, and returns the session. */
function open(connection: Connection): Promise<PeerSession> {
  return PeerSession.open(connection, {
    type: "hello",
    deviceId: identity.deviceId,
    deviceName: `floor-${role}`,
    protocolVersion: PROTOCOL_VERSION,
    identityProof: proveIdentity(identity, connection.channelBinding, connection.role),
    inviteProof: new Uint8Array(),
    dataPath: connection.dataPath !== undefined,
  });
}

async function serve(root: string): Promise<void> {
  const memory = new Uint8Array(MIB);
  fillPseudoRandom(memory, 5);
  const answer: BlockAnswerer = (_folder, { path, offset, size }) =>
    Promise.resolve(path === MEMORY ? memory.subarray(0, size) : readRange(join(root, path), offset, size));
  const listener = await listen({ host: "127.0.0.1", port: 0 }, identity, async (c) => {
    try {
      c.authenticated(); // whoever dials the floor is trusted
      await (await open(c)).run(answer, () => Promise.resolve());
    } catch {
      // The fetching side hung up: its run is over.
    }
  });
  console.log(`port ${listener.port}`);
  const stop = () => void listener.close().then(() => Deno.exit(0));
  Deno.addSignalListener("SIGTERM", stop);
}

function readRange(path: string, offset: number, size: number): Uint8Array {
  using file = Deno.openSync(path, { read: true });
  file.seekSync(offset, Deno.SeekMode.Start);
  const data = new Uint8Array(size);
  if (readFullSync(file, data) < size) throw new Error(`${path} is shorter than ${offset + size} bytes`);
  file.statSync();
  return data;
}

/** A session with the server, its data connection open, and `fetch(path, offset, size)` over it. */
async function connect(port: number) {
  const session = await open(await dial({ host: "127.0.0.1", port }, identity));
  const running = session.run(() => Promise.resolve("invalid-request" as const), () => Promise.resolve());
  for (const started = Date.now(); !session.dataPathOpen; await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() - started > 10_000) throw new Error("the data connection did not open within 10 s");
  }
  const hash = new Uint8Array(32);
  const fetch = (path: string, offset: number, size: number): Promise<Uint8Array> =>
    session.fetchBlock("floor", { path, offset, size, hash });
  const close = async () => {
    await session.close("done");
    await running.catch(() => {});
  };
  return { fetch, close };
}

/** Runs `task` for each of `count` items, `atOnce` at a time; returns the seconds taken. */
async function timed(count: number, atOnce: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: atOnce }, async () => {
    while (next < count) await task(next++);
  }));
  return (performance.now() - started) / 1000;
}

async function stream(port: number, mib: number): Promise<void> {
  const { fetch, close } = await connect(port);
  const seconds = await timed(mib, REQUESTS_IN_FLIGHT, async () => {
    const data = await fetch(MEMORY, 0, MIB);
    if (data.length !== MIB) throw new Error(`got ${data.length} bytes, not 1 MiB`);
  });
  await close();
  console.log(JSON.stringify({ seconds }));
}

async function files(port: number, src: string, dest: string): Promise<void> {
  const list: { path: string; size: number }[] = [];
  for await (const path of walkFiles(src)) list.push({ path: relative(src, path), size: Deno.statSync(path).size });
  const { fetch, close } = await connect(port);
  const dirs = new Set<string>();
  const seconds = await timed(list.length, FILES_AT_ONCE, async (i) => {
    const { path, size } = list[i];
    const data = size > 0 ? await fetch(path, 0, size) : new Uint8Array();
    const target = join(dest, path);
    const dir = dirname(target);
    Deno.mkdirSync(dir, { recursive: true });
    const temp = join(dir, `.floor-tmp-${i}`);
    const file = Deno.openSync(temp, { read: true, write: true, create: true, mode: 0o600 });
    for (let done = 0; done < data.length;) done += file.writeSync(data.subarray(done));
    await file.syncData();
    file.close();
    Deno.chmodSync(temp, 0o644);
    Deno.utimeSync(temp, new Date(1e12), new Date(1e12));
    Deno.renameSync(temp, target);
    dirs.add(dir);
  });
  const syncingDirs = performance.now();
  for (const dir of dirs) {
    using handle = Deno.openSync(dir, { read: true });
    await handle.sync();
  }
  await close();
  console.log(JSON.stringify({ seconds: seconds + (performance.now() - syncingDirs) / 1000 }));
}

async function* walkFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walkFiles(path);
    else if (entry.isFile) yield path;
  }
}
