import assert from "node:assert/strict";
import * as net from "node:net";
import { join } from "node:path";
import { MAX_CONNECTIONS } from "../../lib/net/mod.ts";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { diffTrees, snapshotTree, waitConverged } from "../support/tree.ts";

/** A folder with one file, shared; returns paths and the running sharer. */
async function sharedFolder(tmp: string, extra: string[] = []) {
  const src = join(tmp, "src");
  await Deno.mkdir(src);
  await Deno.writeTextFile(join(src, "secret-plans.txt"), "MARKER-7f3a9c-PLAINTEXT-MUST-NOT-LEAK\n".repeat(100));
  const started = await startSharer(src, join(tmp, "home-a"), 0, extra);
  return { src, ...started };
}

/** `fsync --home HOME id`: the device ID of a home (created on first use). */
async function deviceIdOf(home: string): Promise<string> {
  const r = await FsyncProcess.run(["--home", home, "id"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

Deno.test("without an invite or approval a device is refused; with --accept it joins", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-trust-" });
  try {
    const approved = await deviceIdOf(join(tmp, "home-approved"));
    const { src, sharer, port } = await sharedFolder(tmp, ["--accept", approved.toLowerCase().replaceAll("-", "")]);
    await using _ = sharer;
    const strangerId = await deviceIdOf(join(tmp, "home-stranger"));
    const stranger = await FsyncProcess.run(
      ["--home", join(tmp, "home-stranger"), "join", `127.0.0.1:${port}`, join(tmp, "stranger"), "--yes", "--once"],
    );
    assert.equal(stranger.code, 77, stranger.stderr);
    assert.match(stranger.stderr, /fsync: 127\.0\.0\.1:\d+ \(.+\) does not trust this device \(join with the fsync:/);
    // The sharer's log says how to let it in.
    await sharer.waitFor(
      new RegExp(
        `refused .* \\(${strangerId}\\) at .*: no valid invite, not approved \\(to let it in: fsync share DIR --accept ${strangerId}`,
      ),
    );
    await assert.rejects(Deno.stat(join(tmp, "stranger", "secret-plans.txt")), Deno.errors.NotFound);

    const ok = await FsyncProcess.run(
      ["--home", join(tmp, "home-approved"), "join", `127.0.0.1:${port}`, join(tmp, "approved"), "--yes", "--once"],
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(diffTrees(await snapshotTree(src), await snapshotTree(join(tmp, "approved"))), []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("an invite works once; a wrong secret and a wrong sharer ID are refused", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-invite-" });
  try {
    const { sharer, invite } = await sharedFolder(tmp);
    await using _ = sharer;
    const join_ = (home: string, inv: string) =>
      FsyncProcess.run(["--home", join(tmp, home), "join", inv, join(tmp, `dst-${home}`), "--yes", "--once"]);

    // One character of the secret changed: the proof fails.
    const at = invite.length - 10;
    const wrongSecret = await join_(
      "home-wrong",
      invite.slice(0, at) + (invite[at] === "A" ? "B" : "A") + invite.slice(at + 1),
    );
    assert.equal(wrongSecret.code, 77, wrongSecret.stderr);
    await sharer.waitFor(/presented an invite that is wrong, used or expired/);

    // Another device's ID in the invite: the joiner stops before sending anything.
    const otherId = (await deviceIdOf(join(tmp, "home-other"))).replaceAll("-", "");
    const parts = invite.split("/");
    const wrongId = await join_("home-pinned", [...parts.slice(0, 3), otherId, parts[4]].join("/"));
    assert.equal(wrongId.code, 77, wrongId.stderr);
    assert.match(wrongId.stderr, /is device .*, not the expected /);

    const first = await join_("home-first", invite);
    assert.equal(first.code, 0, first.stderr);
    const second = await join_("home-second", invite);
    assert.equal(second.code, 77, "the invite was used up: " + second.stderr);

    // The first device is trusted from now on, without the invite.
    const again = await join_("home-first", invite.split("/")[2]);
    assert.equal(again.code, 0, again.stderr);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a revoked device is disconnected at once and refused after; fsync peers shows it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-revoke-" });
  try {
    const { src, sharer, invite } = await sharedFolder(tmp);
    await using _ = sharer;
    const dst = join(tmp, "dst");
    await using joiner = FsyncProcess.start(["--home", join(tmp, "home-b"), "join", invite, dst, "--yes"]);
    await joiner.waitFor(/In sync:/);
    const joinerId = await deviceIdOfRunning(tmp);
    const listed = await FsyncProcess.run(["--home", join(tmp, "home-a"), "peers"]);
    assert.match(listed.stdout, new RegExp(`${joinerId}  trusted  .* shares "src"`));

    const revoked = await FsyncProcess.run(["--home", join(tmp, "home-a"), "revoke", joinerId]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(await joiner.exit(30_000), 77, joiner.log());
    assert.match(joiner.stderr, /does not trust this device/);
    await Deno.writeTextFile(join(src, "after-revoke.txt"), "not for the revoked device\n");
    await new Promise((r) => setTimeout(r, 500));
    await assert.rejects(Deno.stat(join(dst, "after-revoke.txt")), Deno.errors.NotFound);
    const after = await FsyncProcess.run(["--home", join(tmp, "home-a"), "peers"]);
    assert.match(after.stdout, new RegExp(`${joinerId}  revoked  .* shares nothing`));
    const again = await FsyncProcess.run(["--home", join(tmp, "home-b"), "sync", "--once"]);
    assert.match(again.stderr, /does not trust this device/);
    await sharer.waitFor(new RegExp(`refused .* \\(${joinerId}\\) at .*: it was revoked`));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** The joiner's ID, read from the sharer's peer list (its home is locked while it runs). */
async function deviceIdOfRunning(tmp: string): Promise<string> {
  const listed = await FsyncProcess.run(["--home", join(tmp, "home-a"), "peers"]);
  const id = listed.stdout.match(/^(\S+) {2}trusted/m)?.[1];
  assert.ok(id, listed.stdout + listed.stderr);
  return id;
}

Deno.test("traffic between peers is encrypted; garbage instead of TLS and a connection flood do not disturb the sharer", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-wire-" });
  const captured: Uint8Array[] = [];
  let relayTarget = 0;
  /** Per relayed connection: what the client sent, and how many bytes came back from the sharer. */
  const relayed: { sent: string; received: number }[] = [];
  const relay = net.createServer((client) => {
    const link = { sent: "", received: 0 };
    relayed.push(link);
    const upstream = net.connect({ host: "127.0.0.1", port: relayTarget });
    const tap = (from: net.Socket, to: net.Socket, count: (chunk: Uint8Array) => void) =>
      from.on("data", (chunk: Uint8Array) => {
        captured.push(new Uint8Array(chunk));
        count(chunk);
        to.write(chunk);
      });
    tap(client, upstream, (chunk) => link.sent += new TextDecoder("latin1").decode(chunk));
    tap(upstream, client, (chunk) => link.received += chunk.length);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  try {
    const { src, sharer, port, invite } = await sharedFolder(tmp);
    await using _ = sharer;
    relayTarget = port;
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    const relayPort = (relay.address() as net.AddressInfo).port;

    // Garbage first: not TLS at all, then a TLS-looking record that is not one.
    for (const junk of ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "\x16\x03\x01\x00\x05hello"]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode(junk));
      await conn.read(new Uint8Array(1024)).catch(() => null);
      conn.close();
    }

    // A flood of idle connections: beyond the cap they are closed at once, and the port recovers.
    const flood: Deno.Conn[] = [];
    for (let i = 0; i < MAX_CONNECTIONS + 40; i++) flood.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const closedAtOnce = await Promise.all(flood.map(async (conn) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const eof = conn.read(new Uint8Array(16)).then((n) => n === null, () => true);
      const idle = new Promise<boolean>((r) => timer = setTimeout(() => r(false), 1_000));
      return await Promise.race([eof, idle]).finally(() => clearTimeout(timer));
    }));
    const closedCount = closedAtOnce.filter(Boolean).length;
    assert.ok(closedCount >= 40, `${closedCount} of ${flood.length} connections closed by the cap`);
    for (const conn of flood) conn.close();

    const viaRelay = invite.replace(`127.0.0.1:${port}`, `127.0.0.1:${relayPort}`);
    const dst = join(tmp, "dst");
    const joined = await FsyncProcess.run(["--home", join(tmp, "home-b"), "join", viaRelay, dst, "--yes", "--once"]);
    assert.equal(joined.code, 0, joined.stderr + sharer.log());
    await waitConverged(src, dst, "through the relay");
    const bytes = captured.reduce((n, c) => n + c.length, 0);
    assert.ok(bytes > 3800, `the relay saw the session (${bytes} bytes)`);
    const wire = new TextDecoder("latin1").decode(new Uint8Array(captured.flatMap((c) => [...c])));
    // The blocks took the data connection through the relay too (its ALPN name is in the clear):
    // more came back on it than a TLS handshake, namely the file's 3,900 bytes.
    const data = relayed.filter((link) => link.sent.includes("fsync-data/1"));
    assert.equal(data.length, 1, `${relayed.length} connections relayed, ${data.length} asked for the data path`);
    assert.ok(data[0].received > 3900, `the data connection brought ${data[0].received} bytes`);
    assert.ok(!wire.includes("MARKER-7f3a9c"), "file content crossed the wire in plain text");
    assert.ok(!wire.includes("secret-plans"), "a file name crossed the wire in plain text");
  } finally {
    await new Promise((r) => relay.close(r));
    await Deno.remove(tmp, { recursive: true });
  }
});
