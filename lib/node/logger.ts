/** The levels of log lines, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** How severe a log line is. */
export type LogLevel = typeof LOG_LEVELS[number];

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
