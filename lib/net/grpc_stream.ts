import type * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { type Envelope, EnvelopeSchema, FileSync } from "../gen/filesync_pb.ts";
import { FsyncError } from "../model/mod.ts";
import type { Connection } from "./connection.ts";
import { fromWire, toWire } from "./convert.ts";
import { PeerUnreachableError } from "./errors.ts";
import { MAX_MESSAGE_BYTES, type Message } from "./messages.ts";

/** grpc-js's status.CANCELLED: the call was cancelled (here, by this end closing it). */
const GRPC_CANCELLED = 1;

/** HTTP/2 flow-control window: the 64 KiB default halves throughput (DENO-FACTS §1). */
const FLOW_CONTROL_WINDOW = 8 << 20;

/** Options of gRPC channels and servers: window, message size bounds, keepalive. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW,
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  "grpc.keepalive_time_ms": 20_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
};

function serialize(message: Envelope): Buffer {
  const bytes = toBinary(EnvelopeSchema, message);
  // grpc-js needs a Buffer; a view avoids copying the block payloads (DENO-FACTS §1).
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function deserialize(bytes: Buffer): Envelope {
  // A plain Uint8Array view: protobuf-es returns bytes fields as subarrays of its input, and
  // a Buffer's slice() would not copy them (convert.ts copies what it keeps).
  return fromBinary(EnvelopeSchema, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** The grpc-js service definition of FileSync, built from the generated descriptor. */
export const fileSyncDefinition: grpc.ServiceDefinition = Object.fromEntries(
  FileSync.methods.map((m) => [m.localName, {
    path: `/${FileSync.typeName}/${m.name}`,
    requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
    responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
    originalName: m.name,
  }]),
);

/** What a listener learns from a connection it accepted. */
export interface ConnectionHooks {
  /** Ends the connection at the TCP level. */
  end(): void;
  /** The device admitted the peer. */
  authenticated?(): void;
}

/** Adapts a gRPC duplex stream of Envelopes to a {@linkcode Connection}. */
export function duplexConnection(
  stream: Duplex,
  ends: Pick<Connection, "remoteAddress" | "peer" | "channelBinding" | "role" | "dataPath">,
  hooks: ConnectionHooks,
): Connection {
  const { remoteAddress } = ends;
  let closed = false;
  let ended = false;
  const failure = new Promise<never>((_, reject) => {
    const fail = () => reject(new PeerUnreachableError(`connection to ${remoteAddress} closed`));
    stream.once("close", fail);
    stream.once("error", fail);
  });
  failure.catch(() => closed = true);
  // grpc-js reports a peer that hangs up as an error on the stream; the iterator below
  // surfaces it, and a listener keeps it from being an unhandled 'error' event.
  stream.on("error", () => closed = true);
  // Every sender that finds the stream full waits on one 'drain' listener: a pull has dozens
  // of tasks sending at once, and a listener each made Node warn of a leak on stderr.
  let drained: Promise<void> | undefined;
  const drain = () =>
    drained ??= new Promise<void>((resolve) =>
      stream.once("drain", () => {
        drained = undefined;
        resolve();
      })
    );
  return {
    ...ends,
    async send(message: Message): Promise<void> {
      if (closed) throw new PeerUnreachableError(`connection to ${remoteAddress} closed`);
      if (!stream.write(toWire(message))) await Promise.race([drain(), failure]);
    },
    async *messages(): AsyncGenerator<Message> {
      try {
        for await (const envelope of stream) yield fromWire(envelope as Envelope);
      } catch (e) {
        if (e instanceof FsyncError) throw e;
        const status = (e as { code?: number }).code;
        if (status === GRPC_CANCELLED && closed) return;
        throw new PeerUnreachableError(`connection to ${remoteAddress} lost: ${(e as Error).message}`, { cause: e });
      } finally {
        closed = true;
      }
    },
    authenticated() {
      hooks.authenticated?.();
    },
    close() {
      // Even when the stream has already failed (an invalid message from the peer): the
      // socket must still be ended, or a broken peer would stay connected.
      if (ended) return;
      ended = true;
      closed = true;
      hooks.end();
    },
  };
}
