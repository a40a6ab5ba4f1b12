import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { EnvelopeSchema } from "../../lib/gen/filesync_pb.ts";
import { fileSyncDefinition } from "../../lib/net/grpc_stream.ts";
import { loadOrCreateIdentity } from "../../lib/net/mod.ts";
import { connectFakeJoiner, type FakeBlocks, type FakeSession, fileEntry } from "../support/fake_peer.ts";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { diffTrees, snapshotTree } from "../support/tree.ts";

const MiB = 1 << 20;
/** Where a fake joiner's block requests travel: on the Session, or on its data connection. */
const ROUTES = ["session", "data connection"] as const;
type Route = typeof ROUTES[number];

/** Resolves when the sharer says goodbye or the connection ends, or fails after `timeoutMs`. */
async function disconnected(session: FakeSession, timeoutMs = 15_000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = session.next("goodbye").catch((e: Error) => {
    if (!/connection ended|closed|lost/.test(e.message)) throw e;
  });
  const late = new Promise((_, reject) => timer = setTimeout(() => reject(new Error("still connected")), timeoutMs));
  await Promise.race([ended, late]).finally(() => clearTimeout(timer));
}

Deno.test("hostile invited joiners: out-of-range and unsafe requests, a flood, an oversized batch and message; good peers keep syncing", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-hostile-joiner-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const bigBytes = new Uint8Array(4 * MiB).map((_, i) => (i * 7) & 0xff);
    await Deno.writeFile(join(src, "big.bin"), bigBytes);
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"), 0, ["--invite-uses", "10"]);
    await using _ = sharer;
    const want = { offset: 0, size: 128 * 1024, hash: new Uint8Array(32) };
    /**
     * A fake joiner that accepted the folder, so its requests are served; with `route`
     * "data connection", its block requests and their answers travel on the data path.
     */
    const accepted = async (route: Route) => {
      const s = await connectFakeJoiner(invite, { dataPath: route === "data connection" });
      const offer = await s.next("shareOffer");
      await s.send({ type: "shareAccept", folderId: offer.folderId });
      const blocks: FakeBlocks = route === "data connection" ? await s.openData() : s;
      // Requests on the data connection are not ordered after the acceptance on the Session:
      // ask for a block until the sharer has recorded it (until then: invalid-request).
      for (let id = 1_000_000;; id++) {
        await blocks.send({ type: "blockRequest", id, folderId: offer.folderId, path: "big.bin", ...want });
        if ((await blocks.next("blockResponse")).error !== "invalid-request") break;
        if (id > 1_000_000 + 500) throw new Error("the sharer never served the accepted folder");
        await new Promise((r) => setTimeout(r, 20));
      }
      return { s, blocks, folderId: offer.folderId };
    };
    /** Waits for the sharer to log `pattern` after its first `from` characters of stderr. */
    const loggedSince = async (from: number, pattern: RegExp) => {
      const deadline = Date.now() + 15_000;
      while (!pattern.test(sharer.stderr.slice(from))) {
        if (Date.now() > deadline) throw new Error(`the sharer did not log ${pattern}:\n${sharer.log()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    for (const route of ROUTES) {
      await t.step(
        `${route}: sizes and offsets out of range are answered with an error, and the session goes on`,
        async () => {
          const { s, blocks, folderId } = await accepted(route);
          try {
            await blocks.send({ type: "blockRequest", id: 1, folderId, path: "big.bin", ...want, offset: 64 * MiB });
            assert.equal((await blocks.next("blockResponse")).error, "invalid-request");
            await blocks.send({ type: "blockRequest", id: 2, folderId, path: "missing.bin", ...want });
            assert.equal((await blocks.next("blockResponse")).error, "no-such-file");
            await blocks.send({ type: "blockRequest", id: 3, folderId: "not-shared", path: "big.bin", ...want });
            assert.equal((await blocks.next("blockResponse")).error, "invalid-request");
            await blocks.send({ type: "blockRequest", id: 4, folderId, path: "big.bin", ...want });
            const good = await blocks.next("blockResponse");
            assert.equal(good.error, "none");
            assert.deepEqual(good.data, bigBytes.subarray(0, want.size));
          } finally {
            await s.close();
          }
        },
      );

      await t.step(`${route}: a request for a path outside the folder is a protocol error: disconnected`, async () => {
        const { s, blocks, folderId } = await accepted(route);
        try {
          const logged = sharer.stderr.length;
          await blocks.send({ type: "blockRequest", id: 1, folderId, path: "../home-a/key.pem", ...want });
          await disconnected(s);
          await loggedSince(logged, /broke the protocol: .*unsafe path/);
        } finally {
          await s.close();
        }
      });

      await t.step(`${route}: a flood of block requests never answered is cut off`, async () => {
        const { s, blocks, folderId } = await accepted(route);
        try {
          const logged = sharer.stderr.length;
          for (let id = 1; id <= 3000; id++) {
            await blocks.send({ type: "blockRequest", id, folderId, path: "big.bin", ...want }).catch(() => {});
          }
          await disconnected(s);
          await loggedSince(logged, /broke the protocol: over 1024 block requests unanswered/);
        } finally {
          await s.close();
        }
      });
    }

    await t.step("an index batch over the limit is a protocol error: disconnected", async () => {
      const { s, folderId } = await accepted("session");
      try {
        const files = Array.from({ length: 1001 }, (_, i) => fileEntry(`f${i}.txt`, new Uint8Array([i & 0xff]), i + 1));
        await s.send({ type: "indexUpdate", folderId, files, maxSequence: 1001 });
        await disconnected(s);
        await sharer.waitFor(/broke the protocol: .*1001/);
      } finally {
        await s.close();
      }
    });

    await t.step("a message over the limit, before any Hello, is refused before it is read: disconnected", async () => {
      // A plain grpc-js client on TLS (no fsync code on this side, so no send limit of ours applies).
      const identity = await loadOrCreateIdentity(await Deno.makeTempDir({ dir: tmp }), "oversized");
      const serverCert = await Deno.readTextFile(join(tmp, "home-a", "cert.pem"));
      const credentials = grpc.credentials.createSsl(
        Buffer.from(serverCert),
        Buffer.from(identity.keyPem),
        Buffer.from(identity.certPem),
        { checkServerIdentity: () => undefined },
      );
      const Client = grpc.makeGenericClientConstructor(fileSyncDefinition, "FileSync");
      const port = invite.match(/:(\d+)\//)![1];
      const client = new Client(`127.0.0.1:${port}`, credentials, {
        "grpc.ssl_target_name_override": "fsync",
        "grpc.max_send_message_length": 64 << 20,
      });
      try {
        const call = (client as unknown as { session(): grpc.ClientDuplexStream<unknown, unknown> }).session();
        const ended = new Promise<string>((resolve) => {
          call.on("error", (e: Error) => resolve(e.message));
          call.on("end", () => resolve("ended"));
        });
        // The sharer says nothing until the peer's Hello proves a key, and closes a
        // connection that sends more than a few KiB before it is admitted.
        const before = sharer.stderr.length;
        call.write(
          create(EnvelopeSchema, { msg: { case: "blockResponse", value: { id: 1n, data: new Uint8Array(5 << 20) } } }),
        );
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<string>((r) => timer = setTimeout(() => r("still open"), 15_000));
        const why = await Promise.race([ended, late]).finally(() => clearTimeout(timer));
        assert.notEqual(why, "still open");
        assert.match(why, /RESOURCE_EXHAUSTED|UNAVAILABLE|larger than max|ended|closed/i);
        await sharer.waitFor(/unauthenticated connection from 127\.0\.0\.1 \(1\): 1 too much input/);
        assert.ok(sharer.stderr.length > before);
      } finally {
        client.close();
      }
    });

    await t.step("meanwhile a real joiner syncs normally", async () => {
      const dst = join(tmp, "dst");
      const r = await FsyncProcess.run(["--home", join(tmp, "home-b"), "join", invite, dst, "--yes", "--once"]);
      assert.equal(r.code, 0, r.stderr + sharer.log());
      assert.deepEqual(diffTrees(await snapshotTree(src), await snapshotTree(dst)), []);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
