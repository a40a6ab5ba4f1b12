import { basename, join, resolve } from "node:path";
import { parse } from "smol-toml";
import {
  DEFAULT_PORT,
  ExitCode,
  FOLDER_MODES,
  type FolderMode,
  formatDeviceId,
  FsyncError,
  type HostPort,
  LOG_LEVELS,
  type LogLevel,
  parseDeviceId,
  parseHostPort,
} from "../model/mod.ts";

/** The configuration file's name inside the home directory. */
export const CONFIG_FILE = "config.toml";

/** A folder in the configuration file: `fsync run` and `fsync sync` add it when the home does not sync it yet. */
export interface FolderConfig {
  /** Absolute path. */
  readonly path: string;
  /** The folder's ID, the same on every peer (absent: the one it has in this home, or a new one). */
  readonly id?: string;
  /** Its name for people (absent: the directory's name). */
  readonly label: string;
  readonly mode?: FolderMode;
  /** Devices (display IDs) trusted with it: offered it, and whose offer of it is accepted. */
  readonly shareWith: readonly string[];
  /** Introductions on or off for it (absent: as the home has it, on for a new folder). */
  readonly introduce?: boolean;
  /** A scan deleting more than `percent` % of its files AND more than `files` files waits for confirmation. */
  readonly bigDeletes: { readonly percent: number; readonly files: number };
}

/** When a folder's deletions wait for `fsync folder confirm-deletes` unless its entry says otherwise. */
export const DEFAULT_BIG_DELETES = { percent: 50, files: 100 } as const;

/** A peer to dial, pinned to a device ID when the configuration gives one (`ID@host:port`). */
export interface PeerConfig {
  readonly address: HostPort;
  /** Display form. */
  readonly deviceId?: string;
}

/** Folder IDs the configuration may set: what a person can type, and short enough for the protocol. */
const FOLDER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Settings from `<home>/config.toml`; command-line flags override them. */
export interface Config {
  /** Absent: port 50051 on every interface, or the next free port after it. */
  readonly listen?: HostPort;
  /** Seconds between the full scans that back up the watcher. */
  readonly rescanInterval: number;
  /** Upload and download limits in KiB/s; 0 is unlimited. */
  readonly maxSendKbps: number;
  readonly maxRecvKbps: number;
  readonly logLevel: LogLevel;
  readonly jsonLogs: boolean;
  /** Ignore OS junk files by default (fsync's own temporary files are always ignored). */
  readonly ignoreDefaults: boolean;
  /** Announce this device on the local network and learn trusted devices' addresses there. */
  readonly discovery: boolean;
  /** Peers `run` and `sync` dial, besides those remembered in the store. */
  readonly peers: readonly PeerConfig[];
  readonly folders: readonly FolderConfig[];
}

/** The values used when the file does not set them. */
export const DEFAULT_CONFIG: Config = {
  listen: undefined,
  rescanInterval: 3600,
  maxSendKbps: 0,
  maxRecvKbps: 0,
  logLevel: "info",
  jsonLogs: false,
  ignoreDefaults: true,
  discovery: true,
  peers: [],
  folders: [],
};

/** What a new home's configuration file says: every setting, commented out at its default. */
export const CONFIG_TEMPLATE = `# fsync configuration. Command-line flags override what is set here.
# Uncomment a line to change it.

# Address to accept peers on (fsync share, join and run). Unset, fsync listens on port
# ${DEFAULT_PORT} of every interface, or on the next free port when that one is taken.
# listen = "0.0.0.0:${DEFAULT_PORT}"

# Seconds between the full scans that back up the file watcher.
# rescan_interval = 3600

# Bandwidth limits in KiB/s for all peers together; 0 is unlimited.
# max_send_kbps = 0
# max_recv_kbps = 0

# Log level (debug, info, warn, error) and one JSON object per log line.
# log_level = "info"
# json_logs = false

# Ignore common OS junk (.DS_Store, Thumbs.db, desktop.ini, ...) in every folder.
# Each folder's own patterns go in a .fsyncignore file at its root (gitignore syntax).
# ignore_defaults = true

# Announce this device on the local network (UDP broadcast, port 21051) and learn there
# the current address of the devices it trusts; announcements never make a device trusted.
# discovery = true

# Peers that fsync run and fsync sync dial, besides those already remembered.
# Prefix an address with the device's ID (fsync id) to connect only to that device.
# peers = ["192.168.1.20:${DEFAULT_PORT}", "ABCDEFG-...-XYZ@laptop.lan:${DEFAULT_PORT}"]

# Folders fsync run and fsync sync keep in sync (fsync share and fsync join add
# folders too; list them here to change their settings).
# [[folders]]
# path = "/home/me/Documents"   # created when missing, the first time
# id = "documents"              # the same on every device that syncs it (default: a new random ID)
# label = "Documents"           # default: the directory's name
# mode = "send-receive"         # or send-only, receive-only
# share_with = ["ABCDEFG-...-XYZ"]   # device IDs trusted with it: offered it, and accepted from
# introduce = true              # false: neither introduce its devices to each other nor trust
#                               # devices its peers introduce (each device then needs an invite)
# big_delete_percent = 50       # a scan deleting more than this % of the files AND more than
# big_delete_files = 100        # this many files waits for: fsync folder confirm-deletes ID
`;

class ConfigError extends FsyncError {
  constructor(file: string, message: string) {
    super(`config ${file}: ${message}`, ExitCode.config, { hint: "fix the file or remove the setting" });
  }
}

/**
 * Reads `<home>/config.toml`; a home without one gets the commented template (written
 * once). Unknown keys and wrong types are errors, so a typo never goes unnoticed.
 *
 * @throws {FsyncError} (config) when the file is unreadable or invalid.
 */
export async function loadConfig(home: string): Promise<Config> {
  const config = await readConfig(home);
  if (config) return config;
  await writeTemplate(home, join(home, CONFIG_FILE));
  return DEFAULT_CONFIG;
}

/**
 * Reads `<home>/config.toml`, or undefined when there is none; writes nothing.
 *
 * @throws {FsyncError} (config) when the file is unreadable or invalid.
 */
export async function readConfig(home: string): Promise<Config | undefined> {
  const file = join(home, CONFIG_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(file, (e as Error).message);
  }
  let raw: Record<string, unknown>;
  try {
    raw = parse(text);
  } catch (e) {
    // smol-toml's TomlError says where (1-based); its message repeats the text around it.
    const { line, column } = e as { line?: number; column?: number };
    const what = (e as Error).message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    throw new ConfigError(file, line ? `line ${line}, column ${column}: ${what}` : what);
  }
  return parseConfig(raw, (message) => new ConfigError(file, message));
}

async function writeTemplate(home: string, file: string): Promise<void> {
  try {
    await Deno.mkdir(home, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(file, CONFIG_TEMPLATE, { createNew: true, mode: 0o600 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return;
    throw new FsyncError(`cannot write ${file}: ${(e as Error).message}`, ExitCode.io, { cause: e });
  }
}

/** Validates a parsed configuration file (exported for tests). */
export function parseConfig(raw: Record<string, unknown>, fail: (message: string) => Error): Config {
  const known = new Set([
    "listen",
    "rescan_interval",
    "max_send_kbps",
    "max_recv_kbps",
    "log_level",
    "json_logs",
    "ignore_defaults",
    "discovery",
    "peers",
    "folders",
  ]);
  for (const key of Object.keys(raw)) if (!known.has(key)) throw fail(`unknown setting "${key}"`);
  const address = (value: unknown, what: string): HostPort => {
    if (typeof value !== "string") throw fail(`${what} must be a "host:port" string`);
    try {
      return parseHostPort(value, DEFAULT_PORT);
    } catch (e) {
      throw fail(`${what}: ${(e as Error).message}`);
    }
  };
  const whole = (key: string, min: number): number | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      throw fail(`${key} must be a whole number of at least ${min}`);
    }
    return value;
  };
  const flag = (key: string): boolean | undefined => {
    const value = raw[key];
    if (value !== undefined && typeof value !== "boolean") throw fail(`${key} must be true or false`);
    return value;
  };
  const level = raw.log_level;
  if (level !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(level)) {
    throw fail(`log_level must be one of ${LOG_LEVELS.join(", ")}`);
  }
  const deviceId = (value: unknown, what: string): string => {
    const id = typeof value === "string" ? parseDeviceId(value) : undefined;
    if (!id) throw fail(`${what} must be a device ID (see fsync id)`);
    return formatDeviceId(id);
  };
  const peer = (value: unknown, what: string): PeerConfig => {
    if (typeof value !== "string") throw fail(`${what} must be a "host:port" or "DEVICE-ID@host:port" string`);
    const at = value.lastIndexOf("@");
    if (at < 0) return { address: address(value, what) };
    return { address: address(value.slice(at + 1), what), deviceId: deviceId(value.slice(0, at), what) };
  };
  if (raw.peers !== undefined && !Array.isArray(raw.peers)) throw fail(`peers must be a list of "host:port" strings`);
  if (raw.folders !== undefined && !Array.isArray(raw.folders)) throw fail(`folders must be [[folders]] tables`);
  const folders = ((raw.folders ?? []) as unknown[]).map((entry, i): FolderConfig => {
    const what = `folders[${i}]`;
    if (typeof entry !== "object" || entry === null) throw fail(`${what} must be a table`);
    const {
      path,
      id,
      label,
      mode,
      share_with: shareWith,
      introduce,
      big_delete_percent: percent = DEFAULT_BIG_DELETES.percent,
      big_delete_files: files = DEFAULT_BIG_DELETES.files,
      ...rest
    } = entry as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw fail(`${what}: unknown setting "${extra}"`);
    if (typeof path !== "string" || path === "") throw fail(`${what}.path must be a folder path`);
    if (id !== undefined && (typeof id !== "string" || !FOLDER_ID.test(id))) {
      throw fail(`${what}.id must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    }
    if (label !== undefined && (typeof label !== "string" || label === "" || label.length > 200)) {
      throw fail(`${what}.label must be a name of 1 to 200 characters`);
    }
    if (mode !== undefined && !(FOLDER_MODES as readonly unknown[]).includes(mode)) {
      throw fail(`${what}.mode must be one of ${FOLDER_MODES.join(", ")}`);
    }
    if (shareWith !== undefined && !Array.isArray(shareWith)) {
      throw fail(`${what}.share_with must be a list of device IDs`);
    }
    if (introduce !== undefined && typeof introduce !== "boolean") {
      throw fail(`${what}.introduce must be true or false`);
    }
    if (typeof percent !== "number" || !Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw fail(`${what}.big_delete_percent must be a whole number from 0 to 100`);
    }
    if (typeof files !== "number" || !Number.isInteger(files) || files < 0) {
      throw fail(`${what}.big_delete_files must be a whole number of at least 0`);
    }
    const absolute = resolve(expandHome(path));
    return {
      path: absolute,
      id: id as string | undefined,
      label: (label as string | undefined) ?? (basename(absolute) || absolute),
      mode: mode as FolderMode | undefined,
      shareWith: [...new Set(((shareWith ?? []) as unknown[]).map((d, j) => deviceId(d, `${what}.share_with[${j}]`)))],
      introduce: introduce as boolean | undefined,
      bigDeletes: { percent, files },
    };
  });
  const twice = (values: (string | undefined)[]) => values.find((v, i) => v !== undefined && values.indexOf(v) !== i);
  const samePath = twice(folders.map((f) => f.path));
  if (samePath) throw fail(`two [[folders]] have the path ${samePath}`);
  const sameId = twice(folders.map((f) => f.id));
  if (sameId) throw fail(`two [[folders]] have the id "${sameId}"`);
  return {
    listen: raw.listen === undefined ? undefined : address(raw.listen, "listen"),
    rescanInterval: whole("rescan_interval", 1) ?? DEFAULT_CONFIG.rescanInterval,
    maxSendKbps: whole("max_send_kbps", 0) ?? DEFAULT_CONFIG.maxSendKbps,
    maxRecvKbps: whole("max_recv_kbps", 0) ?? DEFAULT_CONFIG.maxRecvKbps,
    logLevel: (level as LogLevel | undefined) ?? DEFAULT_CONFIG.logLevel,
    jsonLogs: flag("json_logs") ?? DEFAULT_CONFIG.jsonLogs,
    ignoreDefaults: flag("ignore_defaults") ?? DEFAULT_CONFIG.ignoreDefaults,
    discovery: flag("discovery") ?? DEFAULT_CONFIG.discovery,
    peers: ((raw.peers ?? []) as unknown[]).map((p, i) => peer(p, `peers[${i}]`)),
    folders,
  };
}

/** `~/x` as the user means it. */
function expandHome(path: string): string {
  const home = Deno.env.get("HOME");
  return home && (path === "~" || path.startsWith("~/")) ? join(home, path.slice(1)) : path;
}
