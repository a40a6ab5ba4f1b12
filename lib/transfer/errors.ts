import { ExitCode, FsyncError, type FsyncErrorOptions } from "../model/mod.ts";

/** The disk is full: nothing was replaced, the temporary file is kept for a retry. */
export class DiskFullError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.io, { hint: "free some space; the transfer resumes where it stopped", ...options });
  }
}

/** A block from a peer does not match the hash its index announced. */
export class BlockMismatchError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.protocol, options);
  }
}

/** The user changed the target while it was being pulled; the change is scanned instead. */
export class ChangedLocallyError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.io, options);
  }
}

/** A new name differs only in case from one already in its directory: refused, not written. */
export class CaseConflictError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.io, {
      hint: "rename one of them on either device; on a case-insensitive file system one would overwrite the other",
      ...options,
    });
  }
}
