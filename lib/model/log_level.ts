/** The levels of log lines, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** How severe a log line is. */
export type LogLevel = typeof LOG_LEVELS[number];
