import type * as grpc from "@grpc/grpc-js";
import type * as net from "node:net";
import * as tls from "node:tls";
import { equalBytes, formatDeviceId } from "../model/mod.ts";
import type { PeerCertificate } from "./connection.ts";
import { PeerUnreachableError, UntrustedPeerError } from "./errors.ts";
import { type ConnectionRole, deviceIdOf } from "./identity.ts";

/** The key and certificate a device presents on every connection. */
export interface TlsIdentity {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * The TLS server name: Deno refuses an IP address there (DENO-FACTS §1), and no name is
 * checked anyway: each side pins the other's certificate by its device ID.
 */
const SERVER_NAME = "fsync";
/** How long a TLS handshake may take before the socket is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** TLS 1.3 with both certificates required; trust is decided by device ID, never by a CA. */
export function tlsOptions(identity: TlsIdentity): tls.SecureContextOptions & tls.CommonConnectionOptions {
  return {
    key: identity.keyPem,
    cert: identity.certPem,
    minVersion: "TLSv1.3",
    ALPNProtocols: ["h2"],
    rejectUnauthorized: false, // self-signed by design; the device ID pin replaces the CA check
  };
}

/** The certificate the other end of a TLS socket presented, or undefined. */
export function peerCertificateOf(socket: tls.TLSSocket): PeerCertificate | undefined {
  const raw = socket.getPeerCertificate(true)?.raw;
  if (!raw || raw.length === 0) return undefined;
  const certificate = new Uint8Array(raw);
  return { certificate, deviceId: deviceIdOf(certificate) };
}

/**
 * The Finished messages of both ends, client's first: they hash the whole handshake
 * (both certificates, both key shares), so they are unique to this TLS connection.
 */
export function channelBindingOf(socket: tls.TLSSocket, role: ConnectionRole): Uint8Array | undefined {
  const mine = socket.getFinished();
  const theirs = socket.getPeerFinished();
  if (!mine || !theirs) return undefined;
  const [first, second] = role === "client" ? [mine, theirs] : [theirs, mine];
  const out = new Uint8Array(first.length + second.length);
  out.set(first);
  out.set(second, first.length);
  return out;
}

/** The grpc-js module. */
export type GrpcJs = typeof import("@grpc/grpc-js");

/**
 * grpc-js, loaded when a device first listens or dials: loading it took 94 ms here, which
 * every command paid twice (the sandbox's first stage and its Worker), sessions or not.
 */
export function loadGrpc(): Promise<GrpcJs> {
  return import("@grpc/grpc-js");
}

/**
 * TLS with this device's certificate that pins the server's device ID, as grpc-js channel
 * credentials ({@linkcode credentials}; DENO-FACTS §1, S7: grpc-js's own credentials cannot
 * pin an unknown self-signed peer; this uses grpc-js's semi-internal connector API, so
 * grpc-js is pinned exactly in deno.json and covered by the end-to-end tests).
 *
 * It also remembers the sockets, so a session can be ended by closing its socket. Deno
 * 2.9.6 can crash inside nghttp2 when an HTTP/2 GOAWAY is received (denoland/deno#36788,
 * reproduced here: the sharer died with SIGSEGV or an nghttp2 assertion when a joiner closed
 * its channel), so fsync never sends one: it ends connections at the TCP level on both sides.
 */
export class PinnedTls {
  readonly sockets = new Set<net.Socket>();
  /** The server as TLS saw it, once connected. */
  peer?: PeerCertificate & { channelBinding: Uint8Array };
  /** Why the last TLS attempt failed (grpc-js itself only reports a timeout). */
  failure?: Error;
  /** Rejects when the server is not the expected device: no retry can help. */
  readonly untrusted: Promise<never>;
  #reject!: (e: Error) => void;
  #identity: TlsIdentity;
  #expected?: Uint8Array;
  #target: string;

  constructor(identity: TlsIdentity, target: string, expected?: Uint8Array) {
    this.untrusted = new Promise<never>((_, reject) => this.#reject = reject);
    this.untrusted.catch(() => {}); // read by dial(); never an unhandled rejection
    this.#identity = identity;
    this.#target = target;
    this.#expected = expected;
  }

  /** Channel credentials of `grpcJs` whose connector runs this TLS over grpc-js's socket. */
  credentials(grpcJs: GrpcJs): grpc.ChannelCredentials {
    const secure = (socket: net.Socket) => this.#secure(socket);
    return new (class extends grpcJs.ChannelCredentials {
      _isSecure(): boolean {
        return true;
      }

      _equals(other: grpc.ChannelCredentials): boolean {
        return other === this;
      }

      _createSecureConnector(): ReturnType<grpc.ChannelCredentials["_createSecureConnector"]> {
        const callCredentials = grpcJs.CallCredentials.createEmpty();
        return {
          connect: secure,
          waitForReady: () => Promise.resolve(),
          getCallCredentials: () => callCredentials,
          destroy: () => {},
        };
      }
    })();
  }

  #secure(socket: net.Socket): Promise<{ socket: net.Socket; secure: boolean }> {
    return new Promise((resolve, reject) => {
      const secured = tls.connect({ ...tlsOptions(this.#identity), socket, servername: SERVER_NAME });
      const fail = (e: Error) => {
        this.failure = e;
        if (e instanceof UntrustedPeerError) this.#reject(e);
        secured.destroy();
        reject(e);
      };
      secured.once("error", (e) => fail(new PeerUnreachableError(`TLS with ${this.#target} failed: ${e.message}`)));
      secured.once("secureConnect", () => {
        const peer = peerCertificateOf(secured);
        const channelBinding = channelBindingOf(secured, "client");
        if (!peer || !channelBinding) return fail(new UntrustedPeerError(`${this.#target} presented no certificate`));
        if (this.#expected && !equalBytes(peer.deviceId, this.#expected)) {
          return fail(
            new UntrustedPeerError(
              `${this.#target} is device ${formatDeviceId(peer.deviceId)}, not the expected ` +
                formatDeviceId(this.#expected),
              {
                hint: "another device answers at this address: check the address, or get a new invite",
                answeredBy: peer.deviceId,
              },
            ),
          );
        }
        this.peer = { ...peer, channelBinding };
        this.sockets.add(secured);
        secured.once("close", () => this.sockets.delete(secured));
        resolve({ socket: secured, secure: true });
      });
    });
  }
}

/** Ends a TCP connection without an HTTP/2 GOAWAY: FIN after pending writes, then reset. */
export function endSocket(socket: net.Socket): void {
  socket.end();
  setTimeout(() => socket.destroy(), 200).unref?.();
}
