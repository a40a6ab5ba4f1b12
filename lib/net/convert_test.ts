import assert from "node:assert/strict";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { EnvelopeSchema } from "../gen/filesync_pb.ts";
import { contentHashOf, type FileInfo, formatDeviceId, sha256 } from "../model/mod.ts";
import { fromWire, toWire } from "./convert.ts";
import { ProtocolError } from "./errors.ts";
import type { Message } from "./messages.ts";

const hashes = sha256(new Uint8Array([1, 2, 3]));
const good: FileInfo = {
  path: "dir/ok.txt",
  type: "file",
  size: 3,
  mtimeNs: 1_700_000_000_123_000_000n,
  mode: 0o644,
  deleted: false,
  version: { AAAAAAA: 3, BBBBBBB: 1 },
  sequence: 7,
  blockSizes: Uint32Array.of(3),
  blockHashes: hashes,
  contentHash: contentHashOf(hashes),
  symlinkTarget: "",
  modifiedBy: "AAAAAAA",
  inode: 0,
};

const twoHashes = new Uint8Array([...hashes, ...hashes]);
const deviceC = formatDeviceId(new Uint8Array(32).fill(12));
const folderState = { folderId: "f", label: "Docs", indexId: "i", maxSequence: 9, seenIndexId: "j", seenSequence: 4 };

/** A cluster config listening where `listenAddresses` says and introducing a device at `addresses`. */
function introducing(listenAddresses: string[], addresses: string[], deviceId = deviceC): Message {
  return {
    type: "clusterConfig",
    folders: [{ ...folderState, devices: [{ deviceId, name: "c", addresses }] }],
    listenAddresses,
  };
}

function roundTrip(message: Message): Message {
  return fromWire(fromBinary(EnvelopeSchema, toBinary(EnvelopeSchema, toWire(message))));
}

Deno.test("every message survives encoding and decoding", async (t) => {
  const messages: Message[] = [
    {
      type: "hello",
      deviceId: new Uint8Array(32).fill(9),
      deviceName: "laptop",
      protocolVersion: 1,
      identityProof: new Uint8Array(70).fill(3),
      inviteProof: new Uint8Array(32).fill(4),
      dataPath: true,
    },
    { type: "clusterConfig", folders: [{ ...folderState, devices: [] }], listenAddresses: [] },
    introducing(["0.0.0.0:50051", "[::1]:7"], ["192.168.1.20:50052", "laptop.lan:1"]),
    { type: "shareOffer", folderId: "f", label: "Docs", fileCount: 3, totalBytes: 2 ** 40 },
    { type: "shareAccept", folderId: "f" },
    { type: "shareDecline", folderId: "f", reason: "no" },
    { type: "indexUpdate", folderId: "f", files: [good, { ...good, path: "x", sequence: 8 }], maxSequence: 8 },
    { type: "blockRequest", id: 5, folderId: "f", path: "a/b", offset: 2 ** 33, size: 131072, hash: hashes },
    { type: "blockResponse", id: 5, data: new Uint8Array([1, 2, 3]), error: "none" },
    { type: "blockResponse", id: 6, data: new Uint8Array(), error: "no-such-file" },
    { type: "ping" },
    { type: "goodbye", reason: "bye" },
    { type: "pulled", folderId: "f1", indexId: "i1", sequence: 42 },
    { type: "dataOffer", ticket: new Uint8Array(32).fill(7) },
    { type: "dataHello", ticket: new Uint8Array(32).fill(8) },
  ];
  for (const m of messages) await t.step(m.type, () => assert.deepEqual(roundTrip(m), m));
});

Deno.test("fromWire() refuses malformed or out-of-range messages", async (t) => {
  const bad: { description: string; message: Message; why: RegExp }[] = [
    {
      description: "short device id",
      message: {
        type: "hello",
        deviceId: new Uint8Array(5),
        deviceName: "x",
        protocolVersion: 1,
        identityProof: new Uint8Array(70),
        inviteProof: new Uint8Array(),
      },
      why: /device id of 5 bytes/,
    },
    {
      description: "short ticket",
      message: { type: "dataHello", ticket: new Uint8Array(31) },
      why: /ticket of 31 bytes/,
    },
    {
      description: "long ticket",
      message: { type: "dataOffer", ticket: new Uint8Array(33) },
      why: /ticket of 33 bytes/,
    },
    {
      description: "listen address without a port",
      message: introducing(["10.0.0.1"], []),
      why: /listen address "10.0.0.1" is not HOST:PORT/,
    },
    {
      description: "introduced address with port 0",
      message: introducing([], ["10.0.0.1:0"]),
      why: /introduced device address "10.0.0.1:0" has port 0/,
    },
    {
      description: "introduced device without an id",
      message: introducing([], [], "not an id"),
      why: /introduced device id of 0 bytes/,
    },
    {
      description: "too many addresses",
      message: introducing([], Array.from({ length: 17 }, (_, i) => `h${i}:1`)),
      why: /over 16 of introduced device addresses/,
    },
    {
      description: "path escape",
      message: { type: "indexUpdate", folderId: "f", files: [{ ...good, path: "../x" }], maxSequence: 7 },
      why: /unsafe path/,
    },
    {
      description: "sequence 0",
      message: { type: "indexUpdate", folderId: "f", files: [{ ...good, sequence: 0 }], maxSequence: 7 },
      why: /sequence 0/,
    },
    {
      description: "blocks short of the size (a gap)",
      message: {
        type: "indexUpdate",
        folderId: "f",
        files: [{ ...good, blockSizes: Uint32Array.of(2) }],
        maxSequence: 7,
      },
      why: /blocks of 2 bytes for a file of 3/,
    },
    {
      description: "blocks beyond the size (an overlap)",
      message: {
        type: "indexUpdate",
        folderId: "f",
        files: [{ ...good, size: 5000, blockSizes: Uint32Array.of(4096, 4096), blockHashes: twoHashes }],
        maxSequence: 7,
      },
      why: /blocks of 8192 bytes for a file of 5000/,
    },
    {
      description: "a block over 1 MiB",
      message: {
        type: "indexUpdate",
        folderId: "f",
        files: [{ ...good, size: 2 ** 21, blockSizes: Uint32Array.of(2 ** 21) }],
        maxSequence: 7,
      },
      why: /block 0 of 2097152 bytes is outside \[1, 1048576\]/,
    },
    {
      description: "a block under 4 KiB before the last",
      message: {
        type: "indexUpdate",
        folderId: "f",
        files: [{ ...good, size: 5000, blockSizes: Uint32Array.of(1000, 4000), blockHashes: twoHashes }],
        maxSequence: 7,
      },
      why: /block 0 of 1000 bytes is outside \[4096, 1048576\]/,
    },
    {
      description: "an empty last block",
      message: {
        type: "indexUpdate",
        folderId: "f",
        files: [{ ...good, size: 4096, blockSizes: Uint32Array.of(4096, 0), blockHashes: twoHashes }],
        maxSequence: 7,
      },
      why: /block 1 of 0 bytes is outside \[1, 1048576\]/,
    },
    {
      description: "too few block hashes",
      message: {
        type: "indexUpdate",
        folderId: "f",
        files: [{ ...good, size: 300_000, blockSizes: Uint32Array.of(150_000, 150_000) }],
        maxSequence: 7,
      },
      why: /1 block hashes for 2 blocks/,
    },
    {
      description: "size beyond 2^53",
      message: { type: "indexUpdate", folderId: "f", files: [{ ...good, size: 2 ** 60 }], maxSequence: 7 },
      why: /size out of range/,
    },
    {
      description: "zero version counter",
      message: { type: "indexUpdate", folderId: "f", files: [{ ...good, version: { A: 0 } }], maxSequence: 7 },
      why: /version/,
    },
    {
      description: "out of sequence order",
      message: { type: "indexUpdate", folderId: "f", files: [good, good], maxSequence: 7 },
      why: /sequence order/,
    },
    {
      description: "empty symlink target",
      message: {
        type: "indexUpdate",
        folderId: "f",
        files: [{ ...good, type: "symlink", symlinkTarget: "" }],
        maxSequence: 7,
      },
      why: /symlink target/,
    },
    {
      description: "oversized batch",
      message: {
        type: "indexUpdate",
        folderId: "f",
        files: Array.from({ length: 1001 }, (_, i) => ({ ...good, sequence: i + 1 })),
        maxSequence: 1001,
      },
      why: /1001 files/,
    },
    {
      description: "block request over 1 MiB",
      message: { type: "blockRequest", id: 1, folderId: "f", path: "a", offset: 0, size: 2 ** 21, hash: hashes },
      why: /size/,
    },
    {
      description: "block response over 1 MiB",
      message: { type: "blockResponse", id: 1, data: new Uint8Array(2 ** 20 + 1), error: "none" },
      why: /block data/,
    },
    { description: "missing folder id", message: { type: "shareAccept", folderId: "" }, why: /folder id/ },
  ];
  for (const c of bad) {
    await t.step(
      c.description,
      () => assert.throws(() => roundTrip(c.message), (e) => e instanceof ProtocolError && c.why.test(e.message)),
    );
  }
  await t.step("mode out of range", () => {
    assert.throws(() => decodeWithMode(good, 0o17777), (e) => e instanceof ProtocolError && /mode/.test(e.message));
  });
  await t.step("an empty envelope", () => {
    assert.throws(() => fromWire(fromBinary(EnvelopeSchema, new Uint8Array())), ProtocolError);
  });
});

/** Decodes an index update of `entry` whose mode was forged on the wire (toWire never sends special bits). */
function decodeWithMode(entry: FileInfo, mode: number): Message {
  const envelope = toWire({ type: "indexUpdate", folderId: "f", files: [entry], maxSequence: 7 });
  if (envelope.msg.case !== "indexUpdate") throw new Error("not an index update");
  envelope.msg.value.files[0].mode = mode;
  return fromWire(fromBinary(EnvelopeSchema, toBinary(EnvelopeSchema, envelope)));
}

Deno.test("a hostile index entry's setuid, setgid and sticky bits are dropped, its 0o777 bits kept", async (t) => {
  const cases = [
    { description: "a setuid-root file", type: "file" as const, mode: 0o4755, want: 0o755 },
    { description: "a setgid file", type: "file" as const, mode: 0o2711, want: 0o711 },
    { description: "a setgid and sticky directory", type: "directory" as const, mode: 0o3775, want: 0o775 },
    { description: "plain bits pass unchanged", type: "file" as const, mode: 0o640, want: 0o640 },
  ];
  for (const c of cases) {
    await t.step(c.description, () => {
      const entry: FileInfo = c.type === "file" ? good : {
        ...good,
        type: "directory",
        size: 0,
        blockSizes: new Uint32Array(),
        blockHashes: new Uint8Array(),
        contentHash: new Uint8Array(),
      };
      const got = decodeWithMode(entry, c.mode);
      assert.equal(got.type === "indexUpdate" && got.files[0].mode, c.want);
    });
  }
  await t.step("toWire() sends no special bit an old index entry still holds", () => {
    const envelope = toWire({ type: "indexUpdate", folderId: "f", files: [{ ...good, mode: 0o4755 }], maxSequence: 7 });
    assert.equal(envelope.msg.case === "indexUpdate" && envelope.msg.value.files[0].mode, 0o755);
  });
});

Deno.test("fromWire() copies the bytes it keeps (hashes) out of the received buffer; block data it does not", () => {
  const hash = new Uint8Array(32).fill(7);
  const request = toBinary(
    EnvelopeSchema,
    toWire({ type: "blockRequest", id: 1, folderId: "f", path: "a", offset: 0, size: 4, hash }),
  );
  const decoded = fromWire(fromBinary(EnvelopeSchema, request)) as Extract<Message, { type: "blockRequest" }>;
  request.fill(0);
  assert.deepEqual(decoded.hash, hash);
  assert.equal(decoded.hash.buffer.byteLength, 32);

  const response = toBinary(
    EnvelopeSchema,
    toWire({ type: "blockResponse", id: 1, data: new Uint8Array([7, 7]), error: "none" }),
  );
  const block = fromWire(fromBinary(EnvelopeSchema, response)) as Extract<Message, { type: "blockResponse" }>;
  assert.equal(block.data.buffer, response.buffer, "written and dropped at once: a copy would only cost time");
});
