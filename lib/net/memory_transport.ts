import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { EnvelopeSchema } from "../gen/filesync_pb.ts";
import { AsyncQueue } from "./_async_queue.ts";
import type { Connection } from "./connection.ts";
import { fromWire, toWire } from "./convert.ts";
import { PeerUnreachableError } from "./errors.ts";
import type { Message } from "./messages.ts";

/**
 * Two connected in-memory connections, for tests that run several devices in one process.
 * Every message is encoded and decoded exactly as on the wire, so validation applies.
 */
export function connectionPair(): [Connection, Connection] {
  const aToB = new AsyncQueue<Uint8Array>();
  const bToA = new AsyncQueue<Uint8Array>();
  const closeBoth = () => {
    aToB.close();
    bToA.close();
  };
  return [end("memory:a", aToB, bToA, closeBoth), end("memory:b", bToA, aToB, closeBoth)];
}

function end(
  remoteAddress: string,
  outbox: AsyncQueue<Uint8Array>,
  inbox: AsyncQueue<Uint8Array>,
  close: () => void,
): Connection {
  return {
    remoteAddress,
    send(message: Message): Promise<void> {
      if (outbox.closed) return Promise.reject(new PeerUnreachableError(`connection to ${remoteAddress} closed`));
      outbox.push(toBinary(EnvelopeSchema, toWire(message)));
      return Promise.resolve();
    },
    async *messages(): AsyncGenerator<Message> {
      for await (const bytes of inbox) yield fromWire(fromBinary(EnvelopeSchema, bytes));
    },
    close,
  };
}
