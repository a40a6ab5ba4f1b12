/** Process exit codes, after sysexits(3). `cli.ts` maps every error to one of them. */
export const ExitCode = {
  ok: 0,
  usage: 2,
  unavailable: 69,
  bug: 70,
  io: 74,
  /** Try again later: the home is used by another fsync, or a one-shot sync ran out of time. */
  tempFail: 75,
  protocol: 76,
  untrusted: 77,
  /** The configuration file is unreadable or invalid. */
  config: 78,
} as const;

/** Exit code numbers as used in {@linkcode ExitCode}. */
export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode];

/** Options of {@linkcode FsyncError}: a cause and a hint at the next step for the user. */
export interface FsyncErrorOptions extends ErrorOptions {
  hint?: string;
}

/**
 * Base of every error fsync expects: a one-line message, an exit code and an optional hint.
 *
 * @example
 * ```ts
 * import { FsyncError, ExitCode } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new FsyncError("disk full", ExitCode.io, { hint: "free some space" });
 * assert.equal(e.exitCode, 74);
 * ```
 */
export class FsyncError extends Error {
  /** The process exit code this error maps to. */
  readonly exitCode: ExitCodeValue;
  /** What the user can do next, if anything. */
  readonly hint?: string;

  constructor(message: string, exitCode: ExitCodeValue, options: FsyncErrorOptions = {}) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

/** A path from a peer or the user that is not a safe relative path inside a folder. */
export class PathEscapeError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.protocol, options);
  }
}

/** An address the user gave is not HOST:PORT. */
export class InvalidAddressError extends FsyncError {
  constructor(message: string, options: FsyncErrorOptions = {}) {
    super(message, ExitCode.usage, options);
  }
}
