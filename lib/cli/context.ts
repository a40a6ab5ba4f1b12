import { join as joinPath } from "node:path";
import {
  type Device,
  type DeviceOptions,
  ExitCode,
  type FolderMode,
  FsyncError,
  type Logger,
  type LogLevel,
  prepareHome,
} from "../../mod.ts";
import { type Config, loadConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { followProgress } from "./progress.ts";
import { inSandbox, symlinkThroughLauncher } from "./sandbox.ts";

/** Options every command takes. */
export interface GlobalOptions {
  readonly home: string;
  readonly verbose: boolean;
  readonly logLevel?: LogLevel;
  readonly jsonLogs?: boolean;
  readonly maxSendKbps?: number;
  readonly maxRecvKbps?: number;
  readonly progressInterval: number;
}

/** What a command runs with: the home, its configuration, and a logger set up from both and the flags. */
export interface CliContext {
  readonly home: string;
  readonly config: Config;
  readonly logger: Logger;
  readonly verbose: boolean;
  /** Bandwidth limits in KiB/s (0: none), from the flags or the configuration. */
  readonly maxSendKbps: number;
  readonly maxRecvKbps: number;
  /** Seconds between progress log lines when standard error is not a terminal. */
  readonly progressInterval: number;
}

/** A usage error raised after parsing (e.g. a refused prompt): exit code 2. */
export class UsageError extends FsyncError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, { hint });
  }
}

/** `$XDG_STATE_HOME/fsync`, or `~/.local/state/fsync`. */
export function defaultHome(): string {
  const state = Deno.env.get("XDG_STATE_HOME") ?? joinPath(Deno.env.get("HOME") ?? ".", ".local", "state");
  return joinPath(state, "fsync");
}

/**
 * Makes the home private (or refuses one of another user), loads its configuration and builds
 * the logger: flags override the file.
 *
 * @throws {FsyncError} (local IO) when the home belongs to another user or cannot be read.
 */
export async function openContext(globals: GlobalOptions): Promise<CliContext> {
  const madePrivate = await prepareHome(globals.home);
  const config = await loadConfig(globals.home);
  const level = globals.logLevel ?? (globals.verbose ? "debug" : config.logLevel);
  const logger = createLogger({ level, json: globals.jsonLogs ?? config.jsonLogs });
  if (madePrivate) logger.warn(madePrivate);
  return {
    home: globals.home,
    config,
    logger,
    verbose: globals.verbose,
    maxSendKbps: globals.maxSendKbps ?? config.maxSendKbps,
    maxRecvKbps: globals.maxRecvKbps ?? config.maxRecvKbps,
    progressInterval: globals.progressInterval,
  };
}

/** The Device options every command that runs a device shares. */
export function deviceOptions(ctx: CliContext, scanIntervalSeconds?: number): DeviceOptions {
  return {
    home: ctx.home,
    logger: ctx.logger,
    scanIntervalMs: (scanIntervalSeconds ?? ctx.config.rescanInterval) * 1000,
    ignoreDefaults: ctx.config.ignoreDefaults,
    folderModes: configuredModes(ctx.config),
    deletionThresholds: new Map(ctx.config.folders.map((f) => [f.path, f.bigDeletes])),
    maxSendBytesPerSecond: ctx.maxSendKbps * 1024 || undefined,
    maxRecvBytesPerSecond: ctx.maxRecvKbps * 1024 || undefined,
    makeSymlink: inSandbox() ? symlinkThroughLauncher : undefined,
  };
}

/** Folder modes by absolute path, as the configuration sets them (a command adds its --mode). */
export function configuredModes(config: Config): Map<string, FolderMode> {
  return new Map(config.folders.flatMap((f) => f.mode ? [[f.path, f.mode] as const] : []));
}

/** Shows the device's pulls as they go (a live line per folder on a terminal, log lines elsewhere); returns the stop function. */
export function showProgress(device: Device, ctx: CliContext): () => void {
  return followProgress(device, {
    terminal: Deno.stderr.isTerminal(),
    logEverySeconds: ctx.progressInterval,
    logger: ctx.logger,
  });
}
