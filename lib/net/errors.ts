import { ExitCode, FsyncError, type FsyncErrorOptions } from "../model/mod.ts";

/** A peer could not be reached, or went away. */
export class PeerUnreachableError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.unavailable, options);
  }
}

/** An address leads back to this device: a peer's stale address, or one of this device's own. */
export class OwnAddressError extends PeerUnreachableError {}

/** The listen address is taken by another process. */
export class PortInUseError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.unavailable, options);
  }
}

/** A peer broke the protocol: a malformed, out-of-range or unexpected message. */
export class ProtocolError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.protocol, options);
  }
}

/** A peer is not the device it was expected to be, or is not trusted here. */
export class UntrustedPeerError extends FsyncError {
  /** The device that answered at the address instead of the expected one, when TLS showed it. */
  readonly answeredBy?: Uint8Array;

  constructor(message: string, options: FsyncErrorOptions & { readonly answeredBy?: Uint8Array } = {}) {
    super(message, ExitCode.untrusted, options);
    this.answeredBy = options.answeredBy;
  }
}
