import { create } from "@bufbuild/protobuf";
import * as wire from "../gen/filesync_pb.ts";
import {
  type FileInfo,
  type FileType,
  formatDeviceId,
  FsyncError,
  HASH_BYTES,
  parseDeviceId,
  PathEscapeError,
  validateRelativePath,
  type VersionVector,
} from "../model/mod.ts";
import { formatHostPort, parseHostPort } from "../model/mod.ts";
import { ProtocolError } from "./errors.ts";
import { INVITE_PROOF_BYTES } from "./invite_proof.ts";
import {
  type BlockErrorCode,
  DATA_TICKET_BYTES,
  type FolderState,
  type IntroducedDevice,
  MAX_BLOCK_BYTES,
  MAX_INDEX_BATCH,
  type Message,
} from "./messages.ts";

const MAX_ID_CHARS = 128;
const MAX_NAME_CHARS = 256;
const MAX_VERSION_ENTRIES = 1000;
const MAX_FOLDERS = 1000;
/** Devices introduced for one folder, and addresses named for one device. */
const MAX_INTRODUCED = 1000;
const MAX_ADDRESSES = 16;
const MIN_BLOCK_BYTES = 4096;
/** An ECDSA or Ed25519 signature is far shorter. */
const MAX_PROOF_BYTES = 512;

const FILE_TYPES: ReadonlyMap<wire.FileType, FileType> = new Map([
  [wire.FileType.FILE, "file"],
  [wire.FileType.DIRECTORY, "directory"],
  [wire.FileType.SYMLINK, "symlink"],
]);
const BLOCK_ERRORS: ReadonlyMap<wire.BlockError, BlockErrorCode> = new Map([
  [wire.BlockError.NONE, "none"],
  [wire.BlockError.NO_SUCH_FILE, "no-such-file"],
  [wire.BlockError.INVALID_REQUEST, "invalid-request"],
  [wire.BlockError.READ_FAILED, "read-failed"],
  [wire.BlockError.CHANGED, "changed"],
]);

/** Converts a message to its wire form. */
export function toWire(message: Message): wire.Envelope {
  switch (message.type) {
    case "hello":
      return envelope({ case: "hello", value: create(wire.HelloSchema, message) });
    case "clusterConfig":
      return envelope({
        case: "clusterConfig",
        value: create(wire.ClusterConfigSchema, {
          folders: message.folders.map((f) =>
            create(wire.FolderStateSchema, {
              ...f,
              maxSequence: BigInt(f.maxSequence),
              seenSequence: BigInt(f.seenSequence),
              devices: f.devices.map((d) =>
                create(wire.IntroducedDeviceSchema, {
                  deviceId: parseDeviceId(d.deviceId),
                  name: d.name,
                  addresses: [...d.addresses],
                })
              ),
            })
          ),
          listenAddresses: [...message.listenAddresses],
        }),
      });
    case "shareOffer":
      return envelope({
        case: "shareOffer",
        value: create(wire.ShareOfferSchema, {
          ...message,
          fileCount: BigInt(message.fileCount),
          totalBytes: BigInt(message.totalBytes),
        }),
      });
    case "shareAccept":
      return envelope({ case: "shareAccept", value: create(wire.ShareAcceptSchema, message) });
    case "shareDecline":
      return envelope({ case: "shareDecline", value: create(wire.ShareDeclineSchema, message) });
    case "indexUpdate":
      return envelope({
        case: "indexUpdate",
        value: create(wire.IndexUpdateSchema, {
          folderId: message.folderId,
          maxSequence: BigInt(message.maxSequence),
          files: message.files.map(fileInfoToWire),
        }),
      });
    case "blockRequest":
      return envelope({
        case: "blockRequest",
        value: create(wire.BlockRequestSchema, { ...message, id: BigInt(message.id), offset: BigInt(message.offset) }),
      });
    case "blockResponse":
      return envelope({ case: "blockResponse", value: blockResponseToWire(message) });
    case "ping":
      return envelope({ case: "ping", value: create(wire.PingSchema) });
    case "pulled":
      return envelope({
        case: "pulled",
        value: create(wire.PulledSchema, { ...message, sequence: BigInt(message.sequence) }),
      });
    case "goodbye":
      return envelope({ case: "goodbye", value: create(wire.GoodbyeSchema, message) });
    case "dataOffer":
      return envelope({ case: "dataOffer", value: create(wire.DataOfferSchema, message) });
    case "dataHello":
      return envelope({ case: "dataHello", value: create(wire.DataHelloSchema, message) });
  }
}

/** A block response in its wire form. */
export function blockResponseToWire(message: Extract<Message, { type: "blockResponse" }>): wire.BlockResponse {
  return create(wire.BlockResponseSchema, {
    id: BigInt(message.id),
    data: message.data,
    error: [...BLOCK_ERRORS].find(([, code]) => code === message.error)![0],
  });
}

/**
 * Validates a wire message from a peer and converts it. Bytes are copied, so the result
 * does not keep the received buffer alive.
 *
 * @throws {ProtocolError} when any field is missing, malformed or out of range.
 */
export function fromWire(env: wire.Envelope): Message {
  const m = env.msg;
  switch (m.case) {
    case "hello":
      return {
        type: "hello",
        deviceId: bytes(m.value.deviceId, "device id", HASH_BYTES, HASH_BYTES),
        deviceName: text(m.value.deviceName, "device name", MAX_NAME_CHARS),
        protocolVersion: m.value.protocolVersion,
        identityProof: bytes(m.value.identityProof, "identity proof", 1, MAX_PROOF_BYTES),
        inviteProof: bytes(m.value.inviteProof, "invite proof", 0, INVITE_PROOF_BYTES),
        dataPath: m.value.dataPath,
      };
    case "clusterConfig":
      if (m.value.folders.length > MAX_FOLDERS) {
        throw new ProtocolError(`cluster config lists over ${MAX_FOLDERS} folders`);
      }
      return {
        type: "clusterConfig",
        folders: m.value.folders.map(folderStateFromWire),
        listenAddresses: addresses(m.value.listenAddresses, "listen address"),
      };
    case "shareOffer":
      return {
        type: "shareOffer",
        folderId: id(m.value.folderId),
        label: text(m.value.label, "label", MAX_NAME_CHARS),
        fileCount: safe(m.value.fileCount, "file count"),
        totalBytes: safe(m.value.totalBytes, "total bytes"),
      };
    case "shareAccept":
      return { type: "shareAccept", folderId: id(m.value.folderId) };
    case "shareDecline":
      return { type: "shareDecline", folderId: id(m.value.folderId), reason: text(m.value.reason, "reason", 1000) };
    case "indexUpdate":
      return indexUpdateFromWire(m.value);
    case "blockRequest": {
      const r = m.value;
      if (r.size <= 0 || r.size > MAX_BLOCK_BYTES) throw new ProtocolError(`block request size ${r.size} out of range`);
      return {
        type: "blockRequest",
        id: safe(r.id, "request id"),
        folderId: id(r.folderId),
        path: path(r.path),
        offset: safe(r.offset, "offset"),
        size: r.size,
        hash: bytes(r.hash, "block hash", HASH_BYTES, HASH_BYTES),
      };
    }
    case "blockResponse": {
      const error = BLOCK_ERRORS.get(m.value.error);
      if (error === undefined) throw new ProtocolError(`unknown block error ${m.value.error}`);
      return {
        type: "blockResponse",
        id: safe(m.value.id, "response id"),
        // Not copied: grpc-js gives each message a buffer of its own, and block data is written
        // and dropped at once (copying 1 MiB took 8.8% of a receiver's main thread).
        data: sized(m.value.data, "block data", 0, MAX_BLOCK_BYTES),
        error,
      };
    }
    case "ping":
      return { type: "ping" };
    case "pulled":
      return {
        type: "pulled",
        folderId: id(m.value.folderId),
        indexId: id(m.value.indexId),
        sequence: safe(m.value.sequence, "pulled sequence"),
      };
    case "goodbye":
      return { type: "goodbye", reason: text(m.value.reason, "reason", 1000) };
    case "dataOffer":
      return { type: "dataOffer", ticket: bytes(m.value.ticket, "ticket", DATA_TICKET_BYTES, DATA_TICKET_BYTES) };
    case "dataHello":
      return { type: "dataHello", ticket: bytes(m.value.ticket, "ticket", DATA_TICKET_BYTES, DATA_TICKET_BYTES) };
    default:
      throw new ProtocolError("empty or unknown message");
  }
}

/** Converts a FileInfo to its wire form (local-only fields are dropped). */
export function fileInfoToWire(f: FileInfo): wire.FileInfo {
  return create(wire.FileInfoSchema, {
    path: f.path,
    type: [...FILE_TYPES].find(([, t]) => t === f.type)![0],
    size: BigInt(f.size),
    mtimeNs: f.mtimeNs,
    mode: f.mode & 0o777, // entries indexed before special bits were dropped may still carry them
    deleted: f.deleted,
    version: Object.entries(f.version).map(([device, value]) =>
      create(wire.CounterSchema, { device, value: BigInt(value) })
    ),
    sequence: BigInt(f.sequence),
    blockSizes: Array.from(f.blockSizes),
    blockHashes: f.blockHashes,
    contentHash: f.contentHash,
    symlinkTarget: f.symlinkTarget,
    modifiedBy: f.modifiedBy,
  });
}

/**
 * Validates and converts a FileInfo from a peer.
 *
 * @throws {ProtocolError} (or its cause, a {@linkcode PathEscapeError}) when it is unsafe or inconsistent.
 */
export function fileInfoFromWire(w: wire.FileInfo): FileInfo {
  const where = `file ${JSON.stringify(w.path.slice(0, 200))}`;
  const type = FILE_TYPES.get(w.type);
  if (type === undefined) throw new ProtocolError(`${where}: unknown type ${w.type}`);
  if (w.mode > 0o7777) throw new ProtocolError(`${where}: mode ${w.mode.toString(8)} out of range`);
  // Special bits are accepted and dropped rather than refused: peers that predate this rule
  // announce them for their setuid files, and refusing would end the whole session over one
  // file. They are never applied (the puller masks modes too).
  const sequence = safe(w.sequence, `${where}: sequence`);
  if (sequence < 1) throw new ProtocolError(`${where}: sequence 0`);
  const size = safe(w.size, `${where}: size`);
  const hasBlocks = type === "file" && !w.deleted;
  const file: FileInfo = {
    path: path(w.path),
    type,
    size: type === "file" ? size : 0,
    mtimeNs: w.mtimeNs,
    mode: w.mode & 0o777,
    deleted: w.deleted,
    version: versionFromWire(w.version, where),
    sequence,
    blockSizes: hasBlocks ? Uint32Array.from(w.blockSizes) : new Uint32Array(),
    blockHashes: hasBlocks ? new Uint8Array(w.blockHashes) : new Uint8Array(),
    contentHash: new Uint8Array(w.contentHash),
    symlinkTarget: text(w.symlinkTarget, `${where}: symlink target`, 4096),
    modifiedBy: text(w.modifiedBy, `${where}: modified by`, MAX_ID_CHARS),
    inode: 0,
  };
  if (!file.deleted) checkContent(file, where);
  return file;
}

function checkContent(f: FileInfo, where: string): void {
  if (f.type === "symlink" && (f.symlinkTarget === "" || f.symlinkTarget.includes("\0"))) {
    throw new ProtocolError(`${where}: bad symlink target`);
  }
  if (f.type !== "file") return;
  const sizes = f.blockSizes;
  if (f.blockHashes.length !== sizes.length * HASH_BYTES) {
    throw new ProtocolError(`${where}: ${f.blockHashes.length / HASH_BYTES} block hashes for ${sizes.length} blocks`);
  }
  let total = 0;
  for (let i = 0; i < sizes.length; i++) {
    const least = i === sizes.length - 1 ? 1 : MIN_BLOCK_BYTES;
    if (sizes[i] < least || sizes[i] > MAX_BLOCK_BYTES) {
      throw new ProtocolError(`${where}: block ${i} of ${sizes[i]} bytes is outside [${least}, ${MAX_BLOCK_BYTES}]`);
    }
    total += sizes[i];
  }
  if (total !== f.size) throw new ProtocolError(`${where}: blocks of ${total} bytes for a file of ${f.size}`);
  if (f.contentHash.length !== HASH_BYTES) throw new ProtocolError(`${where}: content hash is not 32 bytes`);
}

function indexUpdateFromWire(u: wire.IndexUpdate): Message {
  if (u.files.length > MAX_INDEX_BATCH) {
    throw new ProtocolError(`index update of ${u.files.length} files (limit ${MAX_INDEX_BATCH})`);
  }
  const files = u.files.map(fileInfoFromWire);
  for (let i = 1; i < files.length; i++) {
    if (files[i].sequence <= files[i - 1].sequence) throw new ProtocolError("index update not in sequence order");
  }
  return {
    type: "indexUpdate",
    folderId: id(u.folderId),
    files,
    maxSequence: safe(u.maxSequence, "max sequence"),
  };
}

function folderStateFromWire(f: wire.FolderState): FolderState {
  return {
    folderId: id(f.folderId),
    label: text(f.label, "label", MAX_NAME_CHARS),
    indexId: text(f.indexId, "index id", MAX_ID_CHARS),
    maxSequence: safe(f.maxSequence, "max sequence"),
    seenIndexId: text(f.seenIndexId, "seen index id", MAX_ID_CHARS),
    seenSequence: safe(f.seenSequence, "seen sequence"),
    devices: introducedFromWire(f.devices),
  };
}

function introducedFromWire(devices: wire.IntroducedDevice[]): IntroducedDevice[] {
  if (devices.length > MAX_INTRODUCED) {
    throw new ProtocolError(`over ${MAX_INTRODUCED} devices introduced for a folder`);
  }
  return devices.map((d) => ({
    deviceId: formatDeviceId(sized(d.deviceId, "introduced device id", HASH_BYTES, HASH_BYTES)),
    name: text(d.name, "introduced device name", MAX_NAME_CHARS),
    addresses: addresses(d.addresses, "introduced device address"),
  }));
}

/**
 * Addresses named by a peer, each a `host:port` with a port other than 0 (normalized).
 *
 * @throws {ProtocolError} naming the first that is not.
 */
export function addresses(list: readonly string[], what: string): string[] {
  if (list.length > MAX_ADDRESSES) throw new ProtocolError(`over ${MAX_ADDRESSES} of ${what}es`);
  return list.map((value) => {
    let address;
    try {
      address = parseHostPort(text(value, what, MAX_NAME_CHARS));
    } catch (e) {
      if (e instanceof ProtocolError || !(e instanceof FsyncError)) throw e;
      throw new ProtocolError(`${what} ${JSON.stringify(value)} is not HOST:PORT`);
    }
    if (address.port === 0) throw new ProtocolError(`${what} ${JSON.stringify(value)} has port 0`);
    return formatHostPort(address);
  });
}

function versionFromWire(counters: wire.Counter[], where: string): VersionVector {
  if (counters.length > MAX_VERSION_ENTRIES) throw new ProtocolError(`${where}: version vector too long`);
  const out: Record<string, number> = {};
  for (const c of counters) {
    const device = text(c.device, `${where}: version device`, MAX_ID_CHARS);
    const value = safe(c.value, `${where}: version counter`);
    if (device === "" || device in out || value < 1) throw new ProtocolError(`${where}: bad version vector entry`);
    out[device] = value;
  }
  return out;
}

function envelope(msg: wire.Envelope["msg"]): wire.Envelope {
  return create(wire.EnvelopeSchema, { msg });
}

function path(p: string): string {
  try {
    return validateRelativePath(p);
  } catch (e) {
    if (e instanceof PathEscapeError) throw new ProtocolError(e.message, { cause: e });
    throw e;
  }
}

function id(value: string): string {
  if (value === "" || value.length > MAX_ID_CHARS) throw new ProtocolError("missing or over-long folder id");
  return value;
}

function text(value: string, what: string, max: number): string {
  if (value.length > max) throw new ProtocolError(`${what} longer than ${max} characters`);
  return value;
}

/** A bytes field, checked and copied: what is kept must not keep the received message buffer alive. */
function bytes(value: Uint8Array, what: string, min: number, max: number): Uint8Array {
  const copy = new Uint8Array(sized(value, what, min, max).length);
  copy.set(value);
  return copy;
}

/** A bytes field checked for length. */
function sized(value: Uint8Array, what: string, min: number, max: number): Uint8Array {
  if (value.length < min || value.length > max) throw new ProtocolError(`${what} of ${value.length} bytes`);
  return value;
}

/** A uint64 from the wire as a number, refused when it exceeds 2^53 - 1. */
function safe(value: bigint, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`${what} out of range`);
  return Number(value);
}
