import assert from "node:assert/strict";
import { join } from "node:path";
import { connectionPair } from "../net/mod.ts";
import { Store } from "../store/mod.ts";
import { ExitCode, type FsyncError } from "../model/mod.ts";
import { Device } from "./device.ts";
import type { DeviceEvent } from "./events.ts";

/** Resolves with the first event of a device matching `match`. */
function nextEvent<T extends DeviceEvent["type"]>(
  device: Device,
  type: T,
  timeoutMs = 20_000,
): Promise<Extract<DeviceEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} event`)), timeoutMs);
    const off = device.on((e) => {
      if (e.type !== type) return;
      clearTimeout(timer);
      off();
      resolve(e as Extract<DeviceEvent, { type: T }>);
    });
  });
}

Deno.test("two devices in one process: share, accept, full sync; a restart re-sends nothing", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-device-" });
  try {
    const src = join(tmp, "src");
    const dst = join(tmp, "dst");
    await Deno.mkdir(join(src, "nested/deeper"), { recursive: true });
    await Deno.writeTextFile(join(src, "nested/deeper/a.txt"), "alpha\n");
    await Deno.writeFile(join(src, "big.bin"), new Uint8Array(700_000).map((_, i) => i % 251));
    const sharer = await Device.start({ home: join(tmp, "home-a"), name: "a" });
    const folder = await sharer.addFolder(src, "src");
    sharer.offerToNewDevices(folder.id);

    let joiner = await Device.start({ home: join(tmp, "home-b"), name: "b" });
    joiner.onOffer(async (offer) => {
      assert.equal(offer.label, "src");
      assert.equal(offer.fileCount, 2);
      await Deno.mkdir(dst, { recursive: true });
      return { path: dst };
    });
    const secret = await sharer.createInvite(folder.id, 1, 60_000);
    let synced = nextEvent(joiner, "in-sync");
    let [y, x] = connectionPair(joiner.identity, sharer.identity);
    let runs = [sharer.runConnection(x), joiner.runConnection(y, secret)];
    const first = await synced;
    assert.equal(first.folderId, folder.id);
    assert.equal(first.totals.bytesFetched, 700_000 + 6);
    assert.equal(await Deno.readTextFile(join(dst, "nested/deeper/a.txt")), "alpha\n");
    assert.deepEqual(await Deno.readFile(join(dst, "big.bin")), await Deno.readFile(join(src, "big.bin")));

    x.close();
    await Promise.all(runs);
    await joiner.close();
    joiner = await Device.start({ home: join(tmp, "home-b"), name: "b" });
    synced = nextEvent(joiner, "in-sync");
    [y, x] = connectionPair(joiner.identity, sharer.identity);
    runs = [sharer.runConnection(x), joiner.runConnection(y)]; // trusted since the invite
    const again = await synced;
    assert.deepEqual(again.totals, { files: 0, bytesFetched: 0, bytesReused: 0 });
    x.close();
    await Promise.all(runs);
    await joiner.close();
    await sharer.close();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a new folder's temporary files are never indexed, and its first scan removes those no pending pull needs", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-device-temp-" });
  try {
    const dir = join(tmp, "folder");
    await Deno.mkdir(join(dir, "sub"), { recursive: true });
    await Deno.writeTextFile(join(dir, "sub/.fsync-tmp-0123456789ab0123456789ab"), "left by a pull no peer asks for");
    const device = await Device.start({ home: join(tmp, "home") });
    try {
      const folder = await device.addFolder(dir, "folder");
      const indexed = [];
      for await (const f of device.localIndex(folder.id)) indexed.push(f.path);
      assert.deepEqual(indexed, ["sub"], "temporary files are never indexed");
    } finally {
      await device.close();
    }
    assert.deepEqual([...Deno.readDirSync(join(dir, "sub"))], []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a folder inside another, or holding one, is refused (each would scan and clean up the other's files)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-device-nested-" });
  try {
    await Deno.mkdir(join(tmp, "outer/inner"), { recursive: true });
    await Deno.mkdir(join(tmp, "outer-sibling"));
    const device = await Device.start({ home: join(tmp, "home"), watch: false });
    try {
      await device.addFolder(join(tmp, "outer"), "outer");
      await assert.rejects(
        device.addFolder(join(tmp, "outer/inner"), "inner"),
        (e: FsyncError) => e.exitCode === ExitCode.usage && /is inside the folder "outer"/.test(e.message),
      );
      assert.equal((await device.addFolder(join(tmp, "outer-sibling"), "sibling")).label, "sibling");
    } finally {
      await device.close();
    }
    const other = await Device.start({ home: join(tmp, "home-2"), watch: false });
    try {
      await other.addFolder(join(tmp, "outer/inner"), "inner");
      await assert.rejects(other.addFolder(join(tmp, "outer"), "outer"), /holds the folder "inner"/);
    } finally {
      await other.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("an expired invite admits nobody; the refused device learns it is not trusted", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-device-invite-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    let now = Date.now();
    const sharer = await Device.start({ home: join(tmp, "home-a"), name: "a", nowMs: () => now, watch: false });
    const joiner = await Device.start({ home: join(tmp, "home-b"), name: "b", watch: false });
    try {
      const folder = await sharer.addFolder(src, "src");
      sharer.offerToNewDevices(folder.id);
      const secret = await sharer.createInvite(folder.id, 1, 60_000);
      now += 60_001;
      const refused = nextEvent(joiner, "not-trusted");
      const [y, x] = connectionPair(joiner.identity, sharer.identity);
      const runs = [sharer.runConnection(x), joiner.runConnection(y, secret)];
      assert.equal((await refused).peerId, sharer.identity.displayId);
      await Promise.all(runs);
      assert.equal((await sharer.peer(joiner.identity.displayId))?.trusted, undefined);
    } finally {
      await joiner.close();
      await sharer.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("an invite admits a device to its folder only: other folders shared here are not offered to it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-device-invite-folder-" });
  try {
    for (const name of ["a", "b"]) {
      await Deno.mkdir(join(tmp, name));
      await Deno.writeTextFile(join(tmp, name, `${name}.txt`), name);
    }
    const sharer = await Device.start({ home: join(tmp, "home-a"), name: "a", watch: false });
    const joiner = await Device.start({ home: join(tmp, "home-b"), name: "b", watch: false });
    try {
      const a = await sharer.addFolder(join(tmp, "a"), "a");
      const b = await sharer.addFolder(join(tmp, "b"), "b");
      sharer.offerToNewDevices(a.id);
      sharer.offerToNewDevices(b.id);
      const offered: string[] = [];
      joiner.onOffer(async (offer) => {
        offered.push(offer.label);
        await Deno.mkdir(join(tmp, `replica-${offer.label}`));
        return { path: join(tmp, `replica-${offer.label}`) };
      });
      const synced = nextEvent(joiner, "in-sync");
      const [y, x] = connectionPair(joiner.identity, sharer.identity);
      const runs = [sharer.runConnection(x), joiner.runConnection(y, await sharer.createInvite(b.id, 1, 60_000))];
      assert.equal((await synced).folderId, b.id);
      assert.deepEqual(offered, ["b"]);
      assert.deepEqual((await sharer.peer(joiner.identity.displayId))?.invitedTo, [b.id]);
      y.close();
      await Promise.all(runs);
    } finally {
      await joiner.close();
      await sharer.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("trustWith(): the device connects without an invite and is offered the folder; convergedWith() waits for its answer; a revoked device stays revoked", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-device-trust-with-" });
  try {
    const [src, dst] = [join(tmp, "src"), join(tmp, "dst")];
    await Deno.mkdir(src);
    await Deno.mkdir(dst);
    await Deno.writeTextFile(join(src, "a.txt"), "a");
    const sharer = await Device.start({ home: join(tmp, "home-a"), name: "a", watch: false });
    const joiner = await Device.start({ home: join(tmp, "home-b"), name: "b", watch: false });
    const joinerId = joiner.identity.displayId;
    try {
      await sharer.addFolder(src, "src", "docs");
      assert.equal(await sharer.trustWith("docs", joinerId), true);
      assert.equal(await sharer.convergedWith(joinerId), false, "offered, not answered yet");

      let answer: { decline: string } | { path: string } = { decline: "not now" };
      joiner.onOffer(() => Promise.resolve(answer));
      const declined = nextEvent(sharer, "share-declined");
      let [y, x] = connectionPair(joiner.identity, sharer.identity);
      let runs = [sharer.runConnection(x), joiner.runConnection(y)];
      assert.equal((await declined).reason, "not now");
      assert.equal(await sharer.convergedWith(joinerId), true, "a decline answers the offer; nothing else is shared");
      y.close();
      await Promise.all(runs);

      answer = { path: dst };
      [y, x] = connectionPair(joiner.identity, sharer.identity);
      runs = [sharer.runConnection(x), joiner.runConnection(y)];
      const deadline = Date.now() + 20_000;
      while (!(await sharer.convergedWith(joinerId))) {
        assert.ok(Date.now() < deadline, "converged after accepting");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(await Deno.readTextFile(join(dst, "a.txt")), "a", "converged means the file is there");
      y.close();
      await Promise.all(runs);

      await sharer.revoke(joinerId);
      assert.equal(await sharer.trustWith("docs", joinerId), false);
      assert.equal((await sharer.peer(joinerId))?.trusted, false);
    } finally {
      await joiner.close();
      await sharer.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a copy of the sharer's store cannot join: its invite records cannot make a valid proof", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-device-invite-copy-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const sharer = await Device.start({ home: join(tmp, "home-a"), name: "a", watch: false });
    const joiner = await Device.start({ home: join(tmp, "home-b"), name: "b", watch: false });
    try {
      const folder = await sharer.addFolder(src, "src");
      sharer.offerToNewDevices(folder.id);
      const secret = await sharer.createInvite(folder.id, 1, 60_000);
      // What another user who copied the home's KV files would read.
      const copy = join(tmp, "copy");
      await Deno.mkdir(copy);
      for (const name of ["index.kv", "index.kv-wal", "index.kv-shm"]) {
        await Deno.copyFile(join(tmp, "home-a", name), join(copy, name));
      }
      const copied = await Store.open(join(copy, "index.kv"));
      const records = await copied.listInvites();
      copied.close();
      assert.equal(records.length, 1);
      const stored = Object.values(records[0]).filter((v): v is Uint8Array => v instanceof Uint8Array);
      assert.ok(stored.length > 0);
      for (const bytes of stored) {
        assert.notDeepEqual(bytes, secret, "the secret itself is not stored");
        const refused = nextEvent(joiner, "not-trusted");
        const [y, x] = connectionPair(joiner.identity, sharer.identity);
        const runs = [sharer.runConnection(x), joiner.runConnection(y, bytes)];
        assert.equal((await refused).peerId, sharer.identity.displayId, "stored bytes used as the secret");
        await Promise.all(runs);
      }
      assert.equal(await sharer.peer(joiner.identity.displayId), undefined);
      // The invite was not used up by the attempts: its real secret still joins.
      joiner.onOffer(() => Promise.resolve({ decline: "only checking admission" }));
      const declined = nextEvent(sharer, "share-declined");
      const [y, x] = connectionPair(joiner.identity, sharer.identity);
      const runs = [sharer.runConnection(x), joiner.runConnection(y, secret)];
      await declined;
      assert.equal((await sharer.peer(joiner.identity.displayId))?.trusted, true);
      y.close();
      await Promise.all(runs);
    } finally {
      await joiner.close();
      await sharer.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("dialling is not trust: a refused dial leaves the peer untrusted, and it cannot connect back; accepting its offer trusts it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-device-dial-trust-" });
  try {
    const [src, dst] = [join(tmp, "src"), join(tmp, "dst")];
    await Deno.mkdir(src);
    await Deno.mkdir(dst);
    let now = Date.now();
    const sharer = await Device.start({ home: join(tmp, "home-a"), name: "a", nowMs: () => now, watch: false });
    const joiner = await Device.start({ home: join(tmp, "home-b"), name: "b", watch: false });
    const sharerId = sharer.identity.displayId;
    try {
      const folder = await sharer.addFolder(src, "src");
      sharer.offerToNewDevices(folder.id);
      joiner.onOffer(() => Promise.resolve({ path: dst }));
      const expired = await sharer.createInvite(folder.id, 1, 60_000);
      now += 60_001;
      const refused = nextEvent(joiner, "not-trusted");
      let [y, x] = connectionPair(joiner.identity, sharer.identity);
      let runs = [sharer.runConnection(x), joiner.runConnection(y, expired)];
      await refused;
      await Promise.all(runs);
      assert.notEqual((await joiner.peer(sharerId))?.trusted, true, "the dialled device is not trusted");

      // The refused device dials back: the joiner has no invite out and no approver.
      const refusedBack = nextEvent(sharer, "not-trusted");
      let [a, b] = connectionPair(sharer.identity, joiner.identity);
      runs = [sharer.runConnection(a), joiner.runConnection(b)];
      assert.equal((await refusedBack).peerId, joiner.identity.displayId);
      await Promise.all(runs);
      assert.notEqual((await joiner.peer(sharerId))?.trusted, true);

      const synced = nextEvent(joiner, "in-sync");
      [y, x] = connectionPair(joiner.identity, sharer.identity);
      runs = [sharer.runConnection(x), joiner.runConnection(y, await sharer.createInvite(folder.id, 1, 60_000))];
      await synced;
      assert.equal((await joiner.peer(sharerId))?.trusted, true, "trusted once its folder was accepted");
      y.close();
      await Promise.all(runs);

      const admitted = nextEvent(joiner, "peer-connected");
      [a, b] = connectionPair(sharer.identity, joiner.identity);
      runs = [sharer.runConnection(a), joiner.runConnection(b)];
      assert.equal((await admitted).peerId, sharerId);
      a.close();
      await Promise.all(runs);
    } finally {
      await joiner.close();
      await sharer.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a restart pulls only what came after the last clean pass; a new policy or a problem means the whole index again", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-device-pulled-" });
  // Whole-index pulls read every pair of entries; incremental ones read what came after.
  const walks: string[] = [];
  const pairWithRemote = Store.prototype.pairWithRemote;
  Store.prototype.pairWithRemote = function (folderId: string, deviceId: string) {
    walks.push(deviceId);
    return pairWithRemote.call(this, folderId, deviceId);
  };
  try {
    const src = join(tmp, "src");
    const dst = join(tmp, "dst");
    await Deno.mkdir(src);
    await Deno.mkdir(dst);
    await Deno.writeTextFile(join(src, "a.txt"), "alpha");
    await Deno.writeTextFile(join(src, "Readme.md"), "theirs");
    await Deno.writeTextFile(join(dst, "README.md"), "mine: Readme.md cannot be written beside it");
    const sharer = await Device.start({ home: join(tmp, "home-a"), name: "a", watch: false });
    const folder = await sharer.addFolder(src, "src");
    sharer.offerToNewDevices(folder.id);
    const secret = await sharer.createInvite(folder.id, 1, 60_000);
    const sharerId = sharer.identity.displayId;
    /** Runs the joiner until it has pulled, and returns how many whole-index pulls it made of the sharer. */
    const session = async (inviteSecret?: Uint8Array) => {
      const joiner = await Device.start({ home: join(tmp, "home-b"), name: "b", watch: false });
      joiner.onOffer(() => Promise.resolve({ path: dst }));
      walks.length = 0;
      const [y, x] = connectionPair(joiner.identity, sharer.identity);
      const runs = [sharer.runConnection(x), joiner.runConnection(y, inviteSecret)];
      const deadline = Date.now() + 20_000;
      while (!(await Deno.readTextFile(join(dst, "a.txt")).catch(() => "")).startsWith("alpha")) {
        assert.ok(Date.now() < deadline, "a.txt arrives");
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 300)); // the pass ends and its retries are scheduled
      const whole = walks.filter((w) => w === sharerId).length; // status below counts needs over the whole index
      const problems = (await joiner.status()).folders[0].unsyncable.map((p) => p.path);
      x.close();
      await Promise.all(runs);
      await joiner.close();
      return { whole, problems };
    };
    const first = await session(secret);
    assert.deepEqual(first.problems, ["Readme.md"]);
    assert.ok(first.whole >= 1);
    const afterProblem = await session();
    assert.ok(afterProblem.whole >= 1, "after a pass with a problem, the whole index again");
    assert.deepEqual(afterProblem.problems, ["Readme.md"], "and the problem is found again");

    await Deno.remove(join(dst, "README.md"));
    await Deno.writeTextFile(join(dst, ".fsyncignore"), "");
    const clean = await session();
    assert.equal(await Deno.readTextFile(join(dst, "Readme.md")), "theirs");
    assert.deepEqual(clean.problems, []);
    const restarted = await session();
    assert.equal(restarted.whole, 0, "a restart after a clean pass pulls only what came after it");
    await Deno.writeTextFile(join(dst, ".fsyncignore"), "*.log\n");
    const newRules = await session();
    assert.ok(newRules.whole >= 1, "new ignore rules: the whole index again");
    await sharer.close();
  } finally {
    Store.prototype.pairWithRemote = pairWithRemote;
    await Deno.remove(tmp, { recursive: true });
  }
});
