import type { Message } from "./messages.ts";

/**
 * One session with a peer: ordered, reliable, in both directions. Implemented over a gRPC
 * stream (`grpc_transport.ts`) and in memory (`memory_transport.ts`) for tests.
 */
export interface Connection {
  /** `host:port` of the other end, for logs. */
  readonly remoteAddress: string;
  /** Sends a message; resolves once the transport can take more. Rejects after close. */
  send(message: Message): Promise<void>;
  /**
   * The validated messages from the peer, for a single consumer. Ends when the connection
   * closes; throws a ProtocolError for an invalid message and a PeerUnreachableError when
   * the transport fails.
   */
  messages(): AsyncIterable<Message>;
  /** Closes the connection; pending sends reject, the message stream ends. */
  close(): void;
}
