/**
 * @module
 * Everything that crosses the network: the FileSync gRPC transport, the in-memory transport
 * for tests, wire conversion with validation, invite proofs and the device identity. The only
 * importer of `lib/gen/`; the rest of fsync sees validated {@linkcode Message}s.
 */
export * from "./errors.ts";
export * from "./messages.ts";
export type { Connection, PeerCertificate } from "./connection.ts";
export {
  AUTH_DEADLINE_MS,
  dial,
  type DialOptions,
  listen,
  type Listener,
  type ListenOptions,
  MAX_CONNECTIONS,
} from "./grpc_transport.ts";
export type { TlsIdentity } from "./pinned_tls.ts";
export { DATA_ALPN, type DataChannel, type DataPath } from "./data_path.ts";
export { connectionPair } from "./memory_transport.ts";
export {
  type ConnectionRole,
  type DeviceIdentity,
  loadOrCreateIdentity,
  proveIdentity,
  verifyIdentityProof,
} from "./identity.ts";
export * from "./invite_proof.ts";
export * from "./session.ts";
export {
  ANNOUNCE_INTERVAL_MS,
  type Announcement,
  DISCOVERY_PORT,
  LanDiscovery,
  type LanDiscoveryOptions,
} from "./discovery.ts";
