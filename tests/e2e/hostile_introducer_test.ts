import assert from "node:assert/strict";
import { join } from "node:path";
import { Device, formatInvite } from "../../mod.ts";
import { formatDeviceId } from "../../lib/model/mod.ts";
import { connectFakeJoiner } from "../support/fake_peer.ts";
import { until } from "../support/wait.ts";

const LOCAL = { host: "127.0.0.1", port: 0 };
const deviceNamed = (n: number) => formatDeviceId(new Uint8Array(32).fill(n));

Deno.test("a hostile introducer: nobody trusted for a folder it does not share, nor itself, nor a revoked device; its own folder only", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-introducer-" });
  const device = await Device.start({ home: join(tmp, "home"), name: "a" });
  try {
    await Deno.mkdir(join(tmp, "open"));
    await Deno.mkdir(join(tmp, "private"));
    const open = await device.addFolder(join(tmp, "open"), "open");
    const secret = await device.addFolder(join(tmp, "private"), "private");
    device.offerToNewDevices(open.id);
    const revoked = deviceNamed(3);
    assert.ok(await device.trustWith(secret.id, revoked));
    await device.revoke(revoked);
    const port = await device.listen(LOCAL);
    const invite = formatInvite({
      address: { host: "127.0.0.1", port },
      deviceId: device.identity.deviceId,
      secret: await device.createInvite(open.id, 1, 60_000),
    });

    const fake = await connectFakeJoiner(invite);
    try {
      const offer = await fake.next("shareOffer");
      assert.equal(offer.folderId, open.id);
      await fake.send({ type: "shareAccept", folderId: open.id });
      const state = (folderId: string, devices: string[]) => ({
        folderId,
        label: "x",
        indexId: "fake-index",
        maxSequence: 0,
        seenIndexId: "",
        seenSequence: 0,
        devices: devices.map((deviceId) => ({ deviceId, name: "planted", addresses: ["127.0.0.1:9"] })),
      });
      // The private folder is not shared with the fake: whoever it names for it is nobody here.
      const forPrivate = deviceNamed(1);
      await fake.send({ type: "clusterConfig", folders: [state(secret.id, [forPrivate])], listenAddresses: [] });
      // For its own folder, it may introduce: a device (trusted for that folder only), this device, a revoked one.
      const forOpen = deviceNamed(2);
      const self = device.identity.displayId;
      await fake.send({
        type: "clusterConfig",
        folders: [state(open.id, [forOpen, self, revoked])],
        listenAddresses: [],
      });
      await until(async () => !!(await device.peer(forOpen)), "the device introduced for the shared folder", 15_000);

      assert.equal(await device.peer(forPrivate), undefined, "not trusted for a folder the introducer does not share");
      assert.equal(await device.peer(self), undefined, "this device is not its own peer");
      assert.equal((await device.peer(revoked))?.trusted, false, "a revoked device stays revoked");
      const planted = await device.peer(forOpen);
      assert.equal(planted?.trusted, true);
      assert.deepEqual(planted?.invitedTo, [], "it is offered nothing");
      const status = await device.status();
      const peersOf = (id: string) => status.folders.find((f) => f.id === id)!.peers.map((p) => p.deviceId);
      assert.ok(peersOf(open.id).includes(forOpen), "shares the introducer's folder");
      assert.ok(!peersOf(secret.id).includes(forOpen), "and no other");
      const introducer = status.peers.find((p) => p.name === "fake-joiner");
      assert.equal(introducer?.connected, true, "introductions are no protocol error: still connected");
    } finally {
      await fake.close();
    }
  } finally {
    await device.close();
    // A dialled gRPC client is closed 300 ms after its session ended (grpc_transport.ts).
    await new Promise((r) => setTimeout(r, 500));
    await Deno.remove(tmp, { recursive: true });
  }
});
