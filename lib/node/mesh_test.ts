import assert from "node:assert/strict";
import dgram from "node:dgram";
import { join } from "node:path";
import { parseDeviceId } from "../model/mod.ts";
import { Device } from "./device.ts";
import type { Dialer } from "./dialer.ts";
import type { DeviceEvent } from "./events.ts";
import { silentLogger } from "./logger.ts";
import { exists } from "../../tests/support/tree.ts";
import { until as waitUntil } from "../../tests/support/wait.ts";

const LOCAL = { host: "127.0.0.1", port: 0 };

/** Waits out the 300 ms after which a dialled gRPC client is closed once its session ended (grpc_transport.ts). */
const clientsClosed = () => new Promise((r) => setTimeout(r, 500));

/** Polls `check` until it holds (failing with `what` after 20 s). */
const until = (what: string, check: () => boolean | Promise<boolean>) => waitUntil(check, what, 20_000);

/** A running device listening on 127.0.0.1 with a dialer, as `fsync join` and `run` keep one. */
interface Node {
  readonly device: Device;
  readonly dialer: Dialer;
  readonly port: number;
  readonly events: DeviceEvent[];
  close(): Promise<void>;
}

async function startNode(home: string, name: string, replica?: string, introduce?: boolean): Promise<Node> {
  const device = await Device.start({ home, name });
  const events: DeviceEvent[] = [];
  device.on((e) => events.push(e));
  if (replica) {
    device.onOffer(async () => {
      await Deno.mkdir(replica, { recursive: true });
      return { path: replica, introduce };
    });
  }
  const port = await device.listen(LOCAL);
  return { device, dialer: device.dialer(), port, events, close: () => device.close() };
}

/** Joins `node` to the sharer at `port` with an invite, as `fsync join` does, and keeps it connected. */
async function joinWith(node: Node, sharer: Node, secret: Uint8Array): Promise<void> {
  const address = { host: "127.0.0.1", port: sharer.port };
  const pin = { deviceId: sharer.device.identity.deviceId, inviteSecret: secret };
  const first = await node.device.connect(address, pin);
  node.dialer.add({ address, pin }, first.done);
  await node.dialer.refresh([]);
}

/** A sharer of `src` with an invite for `uses` devices. */
async function startSharer(
  tmp: string,
  uses: number,
  introduce = true,
): Promise<{ a: Node; folderId: string; secret: Uint8Array }> {
  const src = join(tmp, "a");
  await Deno.mkdir(src, { recursive: true });
  await Deno.writeTextFile(join(src, "hello.txt"), "from a\n");
  const a = await startNode(join(tmp, "home-a"), "a");
  const folder = await a.device.addFolder(src, "shared");
  if (!introduce) await a.device.setIntroduce(folder.id, false);
  a.device.offerToNewDevices(folder.id);
  return { a, folderId: folder.id, secret: await a.device.createInvite(folder.id, uses, 60_000) };
}

const id = (node: Node) => node.device.identity.displayId;

Deno.test("introductions: B and C, who joined A, trust and dial each other, and sync directly while A is down", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-mesh-" });
  const { a, folderId, secret } = await startSharer(tmp, 2);
  const b = await startNode(join(tmp, "home-b"), "b", join(tmp, "b"));
  const c = await startNode(join(tmp, "home-c"), "c", join(tmp, "c"));
  try {
    await joinWith(b, a, secret);
    await until("b has a's file", () => exists(join(tmp, "b/hello.txt")));
    await joinWith(c, a, secret);
    await until("b and c are connected", () => b.device.isConnected(id(c)) && c.device.isConnected(id(b)));

    const cSeenByB = await b.device.peer(id(c));
    assert.equal(cSeenByB?.trusted, true);
    assert.equal(cSeenByB?.introducedBy, id(a));
    assert.equal(cSeenByB?.address, `127.0.0.1:${c.port}`, "c's listen address, learnt by a and passed on");
    assert.equal((await c.device.peer(id(b)))?.introducedBy, id(a));
    assert.ok(b.events.some((e) => e.type === "peer-introduced" && e.peerId === id(c) && e.folderId === folderId));

    await a.close();
    await Deno.writeTextFile(join(tmp, "b/from-b.txt"), "made on b while a is down\n");
    await until("c has b's file", () => exists(join(tmp, "c/from-b.txt")));
    await Deno.writeTextFile(join(tmp, "c/from-c.txt"), "made on c\n");
    await until("b has c's file", () => exists(join(tmp, "b/from-c.txt")));
    assert.equal(await Deno.readTextFile(join(tmp, "c/from-b.txt")), "made on b while a is down\n");
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
    await clientsClosed();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("changes travel through anyone: with A down and C no longer trusting B, edits on C reach B through D, and back", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-mesh-relay-" });
  const { a, secret } = await startSharer(tmp, 3);
  const [b, c, d] = await Promise.all(
    ["b", "c", "d"].map((n) => startNode(join(tmp, `home-${n}`), n, join(tmp, n))),
  );
  try {
    for (const node of [b, c, d]) await joinWith(node, a, secret);
    await until(
      "the mesh is complete",
      () => [b, c, d].every((x) => [b, c, d].every((y) => x === y || x.device.isConnected(id(y)))),
    );
    await a.close();
    await c.device.revoke(id(b));
    await until("c dropped b", () => !c.device.isConnected(id(b)) && !b.device.isConnected(id(c)));
    await Deno.writeTextFile(join(tmp, "c/from-c.txt"), "relayed by d\n");
    await until("b has c's file through d", () => exists(join(tmp, "b/from-c.txt")));
    await Deno.writeTextFile(join(tmp, "b/from-b.txt"), "relayed back by d\n");
    await until("c has b's file through d", () => exists(join(tmp, "c/from-b.txt")));
    assert.equal(b.device.isConnected(id(c)), false, "b and c never reconnected meanwhile");
    assert.ok(b.events.some((e) => e.type === "not-trusted" && e.peerId === id(c)), "c refused b");
  } finally {
    await Promise.all([a.close(), b.close(), c.close(), d.close()]);
    await clientsClosed();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("no introductions where the folder turns them off: at the sharer, or at a joiner", async (t) => {
  for (const where of ["sharer", "joiner"] as const) {
    await t.step(`--no-introduce at the ${where}`, async () => {
      const tmp = await Deno.makeTempDir({ prefix: "fsync-mesh-off-" });
      const { a, secret } = await startSharer(tmp, 2, where !== "sharer");
      const b = await startNode(join(tmp, "home-b"), "b", join(tmp, "b"), where === "joiner" ? false : undefined);
      const c = await startNode(join(tmp, "home-c"), "c", join(tmp, "c"));
      try {
        await joinWith(b, a, secret);
        await until("b has a's file", () => exists(join(tmp, "b/hello.txt")));
        await joinWith(c, a, secret);
        await until("c has a's file", () => exists(join(tmp, "c/hello.txt")));
        // A file made on b after c joined reaches c through a: a's later ClusterConfigs were read by then.
        await Deno.writeTextFile(join(tmp, "b/late.txt"), "late\n");
        await until("c has b's file through a", () => exists(join(tmp, "c/late.txt")));
        assert.equal(await b.device.peer(id(c)), undefined, "b does not know c");
        if (where === "sharer") {
          assert.equal(await c.device.peer(id(b)), undefined, "c does not know b");
        } else {
          // a introduced b to c, which trusts it; b, whose folder refuses introductions, does not let c in.
          assert.equal((await c.device.peer(id(b)))?.introducedBy, id(a));
          await until("c was refused by b", () => c.events.some((e) => e.type === "not-trusted" && e.peerId === id(b)));
          assert.equal(b.device.isConnected(id(c)), false);
        }
      } finally {
        await Promise.all([a.close(), b.close(), c.close()]);
        await clientsClosed();
        await Deno.remove(tmp, { recursive: true });
      }
    });
  }
});

Deno.test("two devices that dial each other at once keep one session, the same on both sides", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-mesh-dup-" });
  const { a, secret } = await startSharer(tmp, 1);
  const b = await startNode(join(tmp, "home-b"), "b", join(tmp, "b"));
  try {
    await joinWith(b, a, secret);
    await until("b has a's file", () => exists(join(tmp, "b/hello.txt")));
    await b.dialer.close(); // no redialling: only the test's dials below
    for (let round = 0; round < 5; round++) {
      const before = [a.events.length, b.events.length];
      const aToB = a.device.connect({ host: "127.0.0.1", port: b.port }, { deviceId: b.device.identity.deviceId });
      const bToA = b.device.connect({ host: "127.0.0.1", port: a.port }, { deviceId: parseDeviceId(id(a)) });
      await Promise.allSettled([aToB, bToA]);
      await new Promise((r) => setTimeout(r, 300));
      const opened = (events: DeviceEvent[], from: number) => {
        const since = events.slice(from);
        return since.filter((e) => e.type === "peer-connected").length -
          since.filter((e) => e.type === "peer-disconnected").length;
      };
      // Each side had one session, and has one: the same (were they not, each would close the other's).
      assert.ok(a.device.isConnected(id(b)) && b.device.isConnected(id(a)), `round ${round}: connected`);
      assert.deepEqual([opened(a.events, before[0]), opened(b.events, before[1])], [0, 0], `round ${round}`);
      const name = `round-${round}.txt`;
      await Deno.writeTextFile(join(tmp, "a", name), `${round}\n`);
      await until(`${name} reached b`, () => exists(join(tmp, "b", name)));
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
    await clientsClosed();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a discovery port another program holds: one warning, and the device goes on listening and syncing without it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-mesh-noudp-" });
  // A socket bound without SO_REUSEADDR: nobody can share its port.
  const holder = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((r) => holder.bind(0, "0.0.0.0", () => r()));
  const port = holder.address().port;
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
  const device = await Device.start({ home: join(tmp, "home"), name: "a", logger });
  try {
    await device.listen(LOCAL);
    await device.discover({ port });
    assert.equal(warnings.filter((w) => w.startsWith("local discovery is off:")).length, 1, warnings.join("\n"));
    await Deno.mkdir(join(tmp, "f"));
    assert.ok((await device.addFolder(join(tmp, "f"), "f")).id, "the device still works");
  } finally {
    await device.close();
    await new Promise<void>((r) => holder.close(() => r()));
    await Deno.remove(tmp, { recursive: true });
  }
});
