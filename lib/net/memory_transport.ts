import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { EnvelopeSchema } from "../gen/filesync_pb.ts";
import { AsyncQueue } from "./_async_queue.ts";
import { X509Certificate } from "node:crypto";
import type { Connection, PeerCertificate } from "./connection.ts";
import { fromWire, toWire } from "./convert.ts";
import { PeerUnreachableError } from "./errors.ts";
import { type ConnectionRole, deviceIdOf } from "./identity.ts";
import type { Message } from "./messages.ts";

/**
 * Two connected in-memory connections, for tests that run several devices in one process:
 * the first is the client end of the device with certificate `client`, the second the
 * server end of `server`. Every message is encoded and decoded exactly as on the wire, so
 * validation applies, and identity proofs are checked as over TLS (with a random binding).
 */
export function connectionPair(client: { certPem: string }, server: { certPem: string }): [Connection, Connection] {
  const aToB = new AsyncQueue<Uint8Array>();
  const bToA = new AsyncQueue<Uint8Array>();
  const closeBoth = () => {
    aToB.close();
    bToA.close();
  };
  const binding = crypto.getRandomValues(new Uint8Array(64));
  return [
    end("memory:server", certificateOf(server.certPem), binding, "client", aToB, bToA, closeBoth),
    end("memory:client", certificateOf(client.certPem), binding, "server", bToA, aToB, closeBoth),
  ];
}

function certificateOf(pem: string): PeerCertificate {
  const certificate = new Uint8Array(new X509Certificate(pem).raw);
  return { certificate, deviceId: deviceIdOf(certificate) };
}

function end(
  remoteAddress: string,
  peer: PeerCertificate,
  channelBinding: Uint8Array,
  role: ConnectionRole,
  outbox: AsyncQueue<Uint8Array>,
  inbox: AsyncQueue<Uint8Array>,
  close: () => void,
): Connection {
  return {
    remoteAddress,
    peer,
    channelBinding,
    role,
    send(message: Message): Promise<void> {
      if (outbox.closed) return Promise.reject(new PeerUnreachableError(`connection to ${remoteAddress} closed`));
      outbox.push(toBinary(EnvelopeSchema, toWire(message)));
      return Promise.resolve();
    },
    async *messages(): AsyncGenerator<Message> {
      for await (const bytes of inbox) yield fromWire(fromBinary(EnvelopeSchema, bytes));
    },
    authenticated() {}, // nothing is limited in memory
    close,
  };
}
