import type { LastError } from "../store/mod.ts";

/** What a log line concerns: the folder's label and the peer's short device ID, when there is one. */
export interface LogContext {
  readonly folder?: string;
  readonly peer?: string;
}

/** Where a device reports what it does; `cli.ts` prints it, tests collect it. */
export interface Logger {
  debug(message: string, context?: LogContext): void;
  info(message: string, context?: LogContext): void;
  warn(message: string, context?: LogContext): void;
  error(message: string, context?: LogContext): void;
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * A logger that remembers the last warning or error (what `fsync status` shows as the last
 * problem) and saves it to `save` at most once a second: a failing pass may warn per file.
 */
export class ProblemLogger implements Logger {
  #inner: Logger;
  #nowMs: () => number;
  #save: (problem: LastError) => Promise<void>;
  #track: (task: Promise<void>) => void;
  #last?: LastError;
  #unsaved = false;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  /** `track` owns the background saves. */
  constructor(
    inner: Logger,
    nowMs: () => number,
    save: (problem: LastError) => Promise<void>,
    track: (task: Promise<void>) => void,
  ) {
    this.#inner = inner;
    this.#nowMs = nowMs;
    this.#save = save;
    this.#track = track;
  }

  /** The last warning or error, if any. */
  get last(): LastError | undefined {
    return this.#last;
  }

  debug(message: string, context?: LogContext): void {
    this.#inner.debug(message, context);
  }

  info(message: string, context?: LogContext): void {
    this.#inner.info(message, context);
  }

  warn(message: string, context?: LogContext): void {
    this.#inner.warn(message, context);
    this.remember(message, context);
  }

  error(message: string, context?: LogContext): void {
    this.#inner.error(message, context);
    this.remember(message, context);
  }

  /** Saves what is not saved yet; later problems are logged, and no longer saved. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#flush();
  }

  /** Remembers (and saves) a problem without logging it: one its caller reports in its own way. */
  remember(message: string, context?: LogContext): void {
    this.#last = { message, atMs: this.#nowMs(), ...context };
    this.#unsaved = true;
    if (this.#closed) return;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#track(this.#flush());
    }, 1000);
  }

  async #flush(): Promise<void> {
    if (!this.#unsaved || !this.#last) return;
    this.#unsaved = false;
    await this.#save(this.#last);
  }
}
