import type { DataPath } from "./data_path.ts";
import type { ConnectionRole } from "./identity.ts";
import type { Message } from "./messages.ts";

/** What the TLS handshake established about the other end of a connection. */
export interface PeerCertificate {
  /** SHA-256 of the certificate it presented. */
  readonly deviceId: Uint8Array;
  /** The certificate (DER), whose key signs the peer's identity proof. */
  readonly certificate: Uint8Array;
}

/**
 * One session with a peer: ordered, reliable, in both directions, encrypted. Implemented over
 * gRPC on mutual TLS (`grpc_transport.ts`) and in memory (`memory_transport.ts`) for tests.
 */
export interface Connection {
  /** `host:port` of the other end, for logs. */
  readonly remoteAddress: string;
  /** The other end's certificate, not yet proven: its Hello must carry a proof made with the key. */
  readonly peer: PeerCertificate;
  /** Bytes unique to this connection's TLS handshake, equal at both ends. */
  readonly channelBinding: Uint8Array;
  /** Which end dialled. */
  readonly role: ConnectionRole;
  /** How this end can open or accept a data connection for blocks; absent when it cannot. */
  readonly dataPath?: DataPath;
  /** Sends a message; resolves once the transport can take more. Rejects after close. */
  send(message: Message): Promise<void>;
  /**
   * The validated messages from the peer, for a single consumer. Ends when the connection
   * closes; throws a ProtocolError for an invalid message and a PeerUnreachableError when
   * the transport fails.
   */
  messages(): AsyncIterable<Message>;
  /**
   * Tells the transport that the peer proved a trusted identity and was admitted: the
   * deadline and the input limits of unauthenticated connections end (a listener closes
   * connections that never get here). No effect on a connection this device dialled.
   */
  authenticated(): void;
  /** Closes the connection; pending sends reject, the message stream ends. */
  close(): void;
}
