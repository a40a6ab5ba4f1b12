import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BlockResponseSchema, EnvelopeSchema } from "../gen/filesync_pb.ts";
import { blockResponseToWire, fromWire, toWire } from "./convert.ts";
import { ProtocolError } from "./errors.ts";
import type { Message } from "./messages.ts";

/**
 * A message as the parts of one frame. A block response's data is its last part and is not
 * copied (protobuf-es's toBinary would copy the bytes field several times): the prefix holds
 * the Envelope and BlockResponse headers, then the data field's tag and length. Field order is
 * free in protobuf; any decoder reads the result unchanged.
 */
export function framePartsOf(message: Message): Uint8Array[] {
  if (message.type !== "blockResponse" || message.data.length === 0) {
    return [toBinary(EnvelopeSchema, toWire(message))];
  }
  const rest = toBinary(BlockResponseSchema, blockResponseToWire({ ...message, data: new Uint8Array() }));
  const dataHeader = [0x12, ...varint(message.data.length)]; // BlockResponse field 2, length-delimited
  const inner = rest.length + dataHeader.length + message.data.length;
  const envelopeHeader = [0x3a, ...varint(inner)]; // Envelope field 7 (block_response), length-delimited
  const prefix = new Uint8Array(envelopeHeader.length + rest.length + dataHeader.length);
  prefix.set(envelopeHeader);
  prefix.set(rest, envelopeHeader.length);
  prefix.set(dataHeader, envelopeHeader.length + rest.length);
  return [prefix, message.data];
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  out.push(n);
  return out;
}

/** Decodes and validates one frame. @throws {ProtocolError} for bytes that are no valid message. */
export function messageOfFrame(frame: Uint8Array): Message {
  let envelope;
  try {
    envelope = fromBinary(EnvelopeSchema, frame);
  } catch (e) {
    throw new ProtocolError(`undecodable frame: ${(e as Error).message}`);
  }
  return fromWire(envelope);
}
