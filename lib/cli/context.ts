import {
  type Device,
  type DeviceOptions,
  ExitCode,
  type FolderMode,
  FsyncError,
  isOsError,
  type Logger,
  type LogLevel,
  prepareHome,
  readFolderPaths,
} from "../../mod.ts";
import { type Config, DEFAULT_CONFIG, loadConfig, readConfig } from "./config.ts";
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
  /** This command created the home (it did not exist before). */
  readonly createdHome: boolean;
}

/** A usage error raised after parsing (e.g. a refused prompt): exit code 2. */
export class UsageError extends FsyncError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, { hint });
  }
}

/**
 * Whether the home exists.
 *
 * @throws {UsageError} when `--home` names something that is not a directory.
 */
async function homeExists(home: string): Promise<boolean> {
  try {
    if ((await Deno.stat(home)).isDirectory) return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    if (!(e instanceof Deno.errors.NotADirectory)) throw e; // prepareHome reports it
  }
  throw new UsageError(`--home ${home} is not a directory`, "pass --home with a directory (made when missing)");
}

/**
 * Makes the home private (or refuses one of another user), loads its configuration and builds
 * the logger: flags override the file. A command that only reads (`create` false) creates
 * nothing: a missing home reads as an empty one, with the default configuration.
 *
 * @throws {UsageError} when `--home` is not a directory.
 * @throws {FsyncError} (local IO) when the home belongs to another user or cannot be read.
 */
export async function openContext(globals: GlobalOptions, { create }: { create: boolean }): Promise<CliContext> {
  const existed = await homeExists(globals.home);
  const madePrivate = existed || create ? await prepareHome(globals.home) : undefined;
  const config = create ? await loadConfig(globals.home) : (await readConfig(globals.home)) ?? DEFAULT_CONFIG;
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
    createdHome: create && !existed,
  };
}

/**
 * After a command failed: removes the home when the command created it and it holds no
 * folder yet (a share whose port was taken, a join that reached nobody), so a failed command
 * leaves no trace. A home that holds a folder stays: it is what a retry resumes from.
 */
export async function forgetFailedHome(ctx: CliContext): Promise<void> {
  if (!ctx.createdHome) return;
  try {
    if ((await readFolderPaths(ctx.home)).length === 0) await Deno.remove(ctx.home, { recursive: true });
  } catch (e) {
    // The command's own failure is the one to report: a home that cannot be looked at stays.
    if (!(e instanceof FsyncError) && !isOsError(e)) throw e;
    ctx.logger.debug(`kept the home ${ctx.home}: ${(e as Error).message}`);
  }
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
