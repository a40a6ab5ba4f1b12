import assert from "node:assert/strict";
import { join } from "node:path";
import { AUTH_DEADLINE_MS, loadOrCreateIdentity, type TlsIdentity } from "../../lib/net/mod.ts";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { connectRawTcp, connectStranger, type Stranger, type StrangerOptions } from "../support/stranger.ts";
import { waitConverged } from "../support/tree.ts";
import { usageWhile } from "../support/usage.ts";

const MiB = 1 << 20;

/** `slots` connections kept open against `port`: each one closed is reopened after `pauseMs`. */
function flood(slots: number, open: () => Promise<Stranger>, pauseMs: number) {
  let stopped = false;
  let opened = 0;
  const live = new Set<Stranger>();
  const loops = Array.from({ length: slots }, async () => {
    while (!stopped) {
      const stranger = await open();
      opened++;
      live.add(stranger);
      await stranger.closed;
      live.delete(stranger);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  return {
    get opened() {
      return opened;
    },
    async stop() {
      stopped = true;
      for (const s of live) s.close();
      await Promise.all(loops);
    },
  };
}

/** A sharer of `tmp/src` with an invite for three, and a device joined with it before the flood (trusted since). */
async function sharerWithTrustedPeer(tmp: string) {
  const src = join(tmp, "src");
  await Deno.mkdir(src);
  await Deno.writeTextFile(join(src, "before.txt"), "before the flood\n");
  // No introductions: the trusted peer's `sync --once` would dial an invite holder of an earlier round, gone by then,
  // and exit 69 (a peer unreachable) when it happened to be connected while that one joined.
  const { sharer, port, invite } = await startSharer(src, join(tmp, "home-a"), 0, [
    "--invite-uses",
    "3",
    "--no-introduce",
  ]);
  const first = await FsyncProcess.run([
    "--home",
    join(tmp, "home-b"),
    "join",
    invite,
    join(tmp, "b"),
    "--yes",
    "--once",
  ]);
  assert.equal(first.code, 0, first.stderr + sharer.log());
  const home = join(tmp, "stranger");
  await Deno.mkdir(home);
  const stranger: TlsIdentity = await loadOrCreateIdentity(home, "stranger");
  return { src, sharer, port, invite, stranger };
}

/** While the flood runs: the trusted peer syncs a new file, and a new device joins with the invite. */
async function bothSyncDuring(tmp: string, src: string, invite: string, sharer: FsyncProcess, name: string) {
  await Deno.writeTextFile(join(src, `${name}.txt`), `${name}\n`);
  const [trusted, invited] = await Promise.all([
    FsyncProcess.run(["--home", join(tmp, "home-b"), "sync", "--once", "--timeout", "60"], 90_000),
    FsyncProcess.run(["--home", join(tmp, `home-${name}`), "join", invite, join(tmp, name), "--yes", "--once"], 90_000),
  ]);
  assert.equal(trusted.code, 0, `trusted peer: ${trusted.stderr}\n${sharer.log()}`);
  assert.equal(invited.code, 0, `invite holder: ${invited.stderr}\n${sharer.log()}`);
  await waitConverged(src, join(tmp, "b"), "trusted peer");
  await waitConverged(src, join(tmp, name), "invite holder");
}

Deno.test("300 idle strangers (TLS and HTTP/2 with any certificate), then 300 raw TCP connections in a reconnect loop: a trusted peer and an invite holder still sync", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-flood-" });
  try {
    const { src, sharer, port, invite, stranger } = await sharerWithTrustedPeer(tmp);
    await using _ = sharer;
    const floods = [
      { name: "c", open: () => connectStranger(port, stranger, { pingMs: 1_000 }) },
      { name: "d", open: () => connectRawTcp(port) },
    ];
    for (const { name, open } of floods) {
      const strangers = flood(300, open, 100);
      try {
        await new Promise((r) => setTimeout(r, 2_000)); // every slot taken, as far as the sharer lets it
        await bothSyncDuring(tmp, src, invite, sharer, name);
      } finally {
        await strangers.stop();
      }
      assert.ok(strangers.opened >= 300, `${strangers.opened} connections opened`);
    }
    // One warning line for the whole flood, not one per connection.
    assert.doesNotMatch(sharer.stderr, /handshake with/);
    const warnings = sharer.stderr.split("\n").filter((l) => l.includes("unauthenticated connection"));
    assert.ok(warnings.length >= 1 && warnings.length <= 3, warnings.join("\n"));
    assert.match(warnings[0], /from 127\.0\.0\.1 \(\d+\)/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("250 strangers with 40 streams of unfinished 4 MiB messages: closed, the sharer stays under 250 MiB, a trusted peer syncs", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-flood-memory-" });
  try {
    const { src, sharer, port, invite, stranger } = await sharerWithTrustedPeer(tmp);
    await using _ = sharer;
    const attack = async () => {
      const options: StrangerOptions = { streams: 40, bytesPerStream: MiB / 4, pingMs: 1_000 };
      const strangers = await Promise.all(Array.from({ length: 250 }, () => connectStranger(port, stranger, options)));
      // Closed for their input (lib/net/grpc_transport_test.ts proves the cause with a long
      // deadline); here only that none is left once the deadline has passed, however loaded
      // the machine: under load the closures reach this process in batches seconds late.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise((r) => timer = setTimeout(r, 2 * AUTH_DEADLINE_MS));
      await Promise.race([Promise.all(strangers.map((s) => s.closed)), late]).finally(() => clearTimeout(timer));
      const open = strangers.filter((s) => !s.isClosed).length;
      for (const s of strangers) s.close();
      return open;
    };
    const before = (await usageWhile([sharer.pid], Promise.resolve()))[0].peakRssBytes;
    const running = attack();
    const [usage] = await usageWhile([sharer.pid], running);
    const stillOpen = await running;
    assert.equal(stillOpen, 0, "strangers still connected twice the deadline after sending their input");
    const peak = `${(usage.peakRssBytes / MiB).toFixed(0)} MiB (${(before / MiB).toFixed(0)} MiB before the attack)`;
    assert.ok(usage.peakRssBytes < 250 * MiB, `sharer peak RSS ${peak}`);
    await bothSyncDuring(tmp, src, invite, sharer, "c");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
