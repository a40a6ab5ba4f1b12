import { LOG_LEVELS, type LogContext, type Logger, type LogLevel } from "../../mod.ts";

/** How log lines are written. */
export interface LogOptions {
  /** Lines below this level are dropped. */
  readonly level: LogLevel;
  /** One JSON object per line instead of text. */
  readonly json: boolean;
  /** Where a finished line goes (default: standard error). */
  readonly write?: (line: string) => void;
  readonly now?: () => Date;
}

/**
 * A logger writing one line per message: `HH:MM:SS level [folder peer] message` as text, or
 * `{"time","level","folder","peer","msg"}` as JSON. Every line names the folder and peer it
 * concerns when there is one.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const now = () => new Date(Date.UTC(2026, 10, 24, 9, 5, 7));
 * const log = createLogger({ level: "info", json: false, write: (l) => lines.push(l), now });
 * log.debug("dropped");
 * log.warn("cannot read a.txt", { folder: "docs", peer: "ABCDEFG" });
 * assert.deepEqual(lines, ["09:05:07 warn  [docs ABCDEFG] cannot read a.txt"]);
 * ```
 */
export function createLogger(options: LogOptions): Logger {
  // deno-lint-ignore no-console -- log lines go to standard error
  const write = options.write ?? ((line: string) => console.error(line));
  const now = options.now ?? (() => new Date());
  const threshold = LOG_LEVELS.indexOf(options.level);
  const line = (level: LogLevel) => (message: string, context: LogContext = {}) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const time = now().toISOString();
    if (options.json) {
      write(JSON.stringify({ time, level, folder: context.folder, peer: context.peer, msg: message }));
      return;
    }
    const about = [context.folder, context.peer].filter((s) => s !== undefined).join(" ");
    write(`${time.slice(11, 19)} ${level.padEnd(5)} ${about ? `[${about}] ` : ""}${message}`);
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}
