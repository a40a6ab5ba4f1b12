import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { EnvelopeSchema } from "../../lib/gen/filesync_pb.ts";
import { fileSyncDefinition } from "../../lib/net/grpc_stream.ts";
import { loadOrCreateIdentity } from "../../lib/net/mod.ts";
import { connectFakeJoiner, type FakeSession, fileEntry } from "../support/fake_peer.ts";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { diffTrees, snapshotTree } from "../support/tree.ts";

const MiB = 1 << 20;

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
    await Deno.writeFile(join(src, "big.bin"), new Uint8Array(4 * MiB).map((_, i) => (i * 7) & 0xff));
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"), 0, ["--invite-uses", "10"]);
    await using _ = sharer;
    /** A fake joiner that accepted the folder, so its requests are served. */
    const accepted = async () => {
      const s = await connectFakeJoiner(invite);
      const offer = await s.next("shareOffer");
      await s.send({ type: "shareAccept", folderId: offer.folderId });
      return { s, folderId: offer.folderId };
    };
    const want = { offset: 0, size: 128 * 1024, hash: new Uint8Array(32) };

    await t.step("sizes and offsets out of range are answered with an error, and the session goes on", async () => {
      const { s, folderId } = await accepted();
      try {
        await s.send({ type: "blockRequest", id: 1, folderId, path: "big.bin", ...want, offset: 64 * MiB });
        assert.equal((await s.next("blockResponse")).error, "invalid-request");
        await s.send({ type: "blockRequest", id: 2, folderId, path: "missing.bin", ...want });
        assert.equal((await s.next("blockResponse")).error, "no-such-file");
        await s.send({ type: "blockRequest", id: 3, folderId: "not-shared", path: "big.bin", ...want });
        assert.equal((await s.next("blockResponse")).error, "invalid-request");
      } finally {
        await s.close();
      }
    });

    await t.step("a request for a path outside the folder is a protocol error: disconnected", async () => {
      const { s, folderId } = await accepted();
      try {
        await s.send({ type: "blockRequest", id: 1, folderId, path: "../home-a/key.pem", ...want });
        await disconnected(s);
        await sharer.waitFor(/broke the protocol: .*unsafe path/);
      } finally {
        await s.close();
      }
    });

    await t.step("a flood of block requests never answered is cut off", async () => {
      const { s, folderId } = await accepted();
      try {
        for (let id = 1; id <= 3000; id++) {
          await s.send({ type: "blockRequest", id, folderId, path: "big.bin", ...want }).catch(() => {});
        }
        await disconnected(s);
        await sharer.waitFor(/broke the protocol: over 1024 block requests unanswered/);
      } finally {
        await s.close();
      }
    });

    await t.step("an index batch over the limit is a protocol error: disconnected", async () => {
      const { s, folderId } = await accepted();
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
