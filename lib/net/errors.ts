import { ExitCode, FsyncError, type FsyncErrorOptions } from "../model/mod.ts";

/** A peer could not be reached, or went away. */
export class PeerUnreachableError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.unavailable, options);
  }
}

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
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.untrusted, options);
  }
}
