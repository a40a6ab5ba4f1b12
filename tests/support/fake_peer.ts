import { contentHashOf, type FileInfo, parseInvite, sha256 } from "../../lib/model/mod.ts";
import {
  type Connection,
  type DataChannel,
  dial,
  inviteProof,
  listen,
  type Listener,
  loadOrCreateIdentity,
  type Message,
  PROTOCOL_VERSION,
  proveIdentity,
} from "../../lib/net/mod.ts";

/** A hand-made peer speaking the wire protocol, scripted by a test (to play a broken or hostile sharer). */
export interface FakePeer {
  readonly port: number;
  /** Resolves with the first connection. */
  readonly connected: Promise<FakeSession>;
  close(): Promise<void>;
}

/** One scripted session: read what the real peer sends, send anything. */
export interface FakeSession {
  readonly connection: Connection;
  send(message: Message): Promise<void>;
  /** The next message of `type` from the real peer (others are dropped); rejects when the connection ends. */
  next<T extends Message["type"]>(type: T): Promise<Extract<Message, { type: T }>>;
}

/** The blocks half of a session, scripted: read what the real peer sends, send anything. */
export type FakeBlocks = Omit<FakeSession, "connection">;

/** Wraps a connection for scripting: a single reader of its messages. */
function scripted(connection: Connection): FakeSession {
  return { connection, ...scriptedChannel(connection) };
}

function scriptedChannel(channel: Pick<DataChannel, "send" | "messages">): FakeBlocks {
  const messages = channel.messages()[Symbol.asyncIterator]();
  return {
    send: (m) => channel.send(m),
    async next(type) {
      while (true) {
        const r = await messages.next();
        if (r.done) throw new Error(`connection ended while waiting for ${type}`);
        if (r.value.type === type) return r.value as never;
      }
    },
  };
}

/**
 * Dials a real sharer with its invite as a hand-made joiner (to play a broken or hostile
 * one): a real certificate and valid proofs, then anything the test sends. `close()` ends it.
 * With `dataPath`, its Hello asks for a data connection, which `openData()` opens once the
 * sharer offers it (the messages before the offer are dropped).
 */
export async function connectFakeJoiner(
  invite: string,
  options: { dataPath?: boolean } = {},
): Promise<FakeSession & { openData(): Promise<FakeBlocks>; close(): Promise<void> }> {
  const { address, deviceId, secret } = parseInvite(invite);
  const home = await Deno.makeTempDir({ prefix: "fsync-fake-joiner-" });
  const identity = await loadOrCreateIdentity(home, "fake-joiner");
  const connection = await dial(address, identity, deviceId);
  const session = scripted(connection);
  await session.send({
    type: "hello",
    deviceId: identity.deviceId,
    deviceName: "fake-joiner",
    protocolVersion: PROTOCOL_VERSION,
    identityProof: proveIdentity(identity, connection.channelBinding, connection.role),
    inviteProof: inviteProof(secret, connection.channelBinding),
    dataPath: options.dataPath ?? false,
  });
  await session.next("hello");
  let data: DataChannel | undefined;
  return {
    ...session,
    async openData() {
      const { ticket } = await session.next("dataOffer");
      data = await connection.dataPath!.open!(ticket);
      return scriptedChannel(data);
    },
    async close() {
      data?.close();
      connection.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

/** Listens on 127.0.0.1 and plays a sharer up to an accepted offer of `folderId`. */
export async function startFakeSharer(folderId: string): Promise<FakePeer> {
  let resolve!: (s: FakeSession) => void;
  const connected = new Promise<FakeSession>((r) => resolve = r);
  const home = await Deno.makeTempDir({ prefix: "fsync-fake-peer-" });
  const identity = await loadOrCreateIdentity(home, "fake");
  const listener: Listener = await listen({ host: "127.0.0.1", port: 0 }, identity, (connection) => {
    const session = scripted(connection);
    void (async () => {
      await session.send({
        type: "hello",
        deviceId: identity.deviceId,
        deviceName: "fake",
        protocolVersion: PROTOCOL_VERSION,
        identityProof: proveIdentity(identity, connection.channelBinding, connection.role),
        inviteProof: new Uint8Array(),
      });
      await session.next("hello");
      connection.authenticated(); // admitted, as a sharer admits an invited joiner
      await session.send({ type: "shareOffer", folderId, label: "evil", fileCount: 1, totalBytes: 5 });
      await session.next("shareAccept");
      await session.send({
        type: "clusterConfig",
        folders: [{
          folderId,
          label: "evil",
          indexId: "fake-index",
          maxSequence: 10,
          seenIndexId: "",
          seenSequence: 0,
          devices: [],
        }],
        listenAddresses: [],
      });
      resolve(session);
    })();
  });
  return {
    port: listener.port,
    connected,
    async close() {
      await listener.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

/** A FileInfo for `content` at `path`, as an honest peer would announce it. */
export function fileEntry(path: string, content: Uint8Array, sequence: number): FileInfo {
  const blockHashes = content.length === 0 ? new Uint8Array() : sha256(content);
  return {
    path,
    type: "file",
    size: content.length,
    mtimeNs: 1_700_000_000_000_000_000n,
    mode: 0o644,
    deleted: false,
    version: { FAKE001: sequence },
    sequence,
    blockSizes: content.length === 0 ? new Uint32Array() : Uint32Array.of(content.length),
    blockHashes,
    contentHash: contentHashOf(blockHashes),
    symlinkTarget: "",
    modifiedBy: "FAKE001",
    inode: 0,
  };
}
