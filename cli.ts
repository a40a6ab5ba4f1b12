// deno-lint-ignore-file no-console -- cli.ts is the one place that writes human output.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { basename, join as joinPath, resolve } from "node:path";
import {
  DEFAULT_PORT,
  Device,
  ExitCode,
  formatDeviceId,
  formatHostPort,
  formatInvite,
  FsyncError,
  type HostPort,
  humanBytes,
  type Invite,
  isInvite,
  listPeers,
  type Logger,
  parseDeviceId,
  parseHostPort,
  parseInvite,
  revokePeer,
  UntrustedPeerError,
} from "./mod.ts";

/** Printed under --help. */
const EXIT_CODES = `
Exit codes:
  0   ok
  2   usage: bad arguments or flags
  69  unavailable: peer unreachable, port in use, home in use
  70  internal error (a bug: please report it with the --verbose output)
  74  local IO: folder missing or unreadable, disk full
  76  protocol or integrity error from a peer
  77  device not trusted`;

interface GlobalOptions {
  home: string;
  verbose: boolean;
}

/** A usage error raised after parsing (e.g. a refused prompt). */
class UsageError extends FsyncError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, { hint });
  }
}

function defaultHome(): string {
  const state = Deno.env.get("XDG_STATE_HOME") ?? joinPath(Deno.env.get("HOME") ?? ".", ".local", "state");
  return joinPath(state, "fsync");
}

function stderrLogger(verbose: boolean): Logger {
  const write = (level: string) => (message: string) => {
    const time = new Date().toISOString().slice(11, 19);
    console.error(`${time} ${level}${message}`);
  };
  return {
    debug: verbose ? write("debug: ") : () => {},
    info: write(""),
    warn: write("warning: "),
    error: write("error: "),
  };
}

function parseAddress(value: string): HostPort {
  try {
    return parseHostPort(value, DEFAULT_PORT);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Resolves at SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => resolve(sig));
  });
}

/** Asks a yes/no question on the terminal without blocking the event loop. */
async function askYesNo(question: string): Promise<boolean> {
  await Deno.stderr.write(new TextEncoder().encode(`${question} [y/N] `));
  const reader = Deno.stdin.readable.getReader();
  try {
    let line = "";
    const decoder = new TextDecoder();
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      line += decoder.decode(value);
    }
    return /^y(es)?$/i.test(line.trim());
  } finally {
    reader.releaseLock();
  }
}

/** The address peers should dial: the listen host, or this machine's first LAN address. */
function reachableAddress(listen: HostPort, port: number): string {
  if (listen.host !== "0.0.0.0" && listen.host !== "::") return formatHostPort({ host: listen.host, port });
  const lan = Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."));
  return formatHostPort({ host: lan?.address ?? "127.0.0.1", port });
}

async function share(
  dir: string,
  opts: {
    listen: HostPort;
    name?: string;
    rescanInterval: number;
    inviteUses: number;
    inviteTtl: number;
    accept: string[];
  },
  global: GlobalOptions,
): Promise<void> {
  const logger = stderrLogger(global.verbose);
  const device = await Device.start({ home: global.home, logger, scanIntervalMs: opts.rescanInterval * 1000 });
  try {
    const label = opts.name ?? basename(resolve(dir));
    const folder = await device.addFolder(dir, label);
    device.offerToNewDevices(folder.id);
    const { files, bytes } = await device.folderSummary(folder.id);
    const port = await device.listen(opts.listen);
    const accepted = new Set(opts.accept);
    let asking = Promise.resolve(false);
    device.onUnknownDevice((peer) => {
      if (accepted.has(peer.deviceId)) return Promise.resolve(true);
      if (!Deno.stdin.isTerminal()) return Promise.resolve(false);
      // One question at a time on the terminal.
      asking = asking.then(() =>
        askYesNo(`${peer.name} (${peer.deviceId}) at ${peer.address} has no invite. Let it join "${folder.label}"?`)
      );
      return asking;
    });
    device.on((e) => {
      if (e.type === "in-sync") logger.info(`folder "${folder.label}" is in sync with ${e.peerId}`);
      if (e.type === "peer-disconnected") logger.info(`peer ${e.peerId} disconnected: ${e.reason}`);
    });
    const address = reachableAddress(opts.listen, port);
    const secret = await device.createInvite(folder.id, opts.inviteUses, opts.inviteTtl * 3_600_000);
    const invite = formatInvite({ address: parseHostPort(address), deviceId: device.identity.deviceId, secret });
    console.log(`Sharing "${folder.label}" (${files} files, ${humanBytes(bytes)}) from ${folder.path}`);
    console.log(`This device: ${device.identity.displayId}`);
    console.log(`listening on ${formatHostPort({ host: opts.listen.host, port })}`);
    const uses = opts.inviteUses === 1 ? "once" : `${opts.inviteUses} times`;
    console.log(
      `On the other machine, run (the invite works ${uses}, for ${opts.inviteTtl} h):\n` +
        `  fsync join ${invite} ${folder.label}`,
    );
    const signal = await untilSignal();
    logger.info(`${signal}: stopping`);
  } finally {
    await device.close();
  }
}

async function join(
  peer: { address: HostPort; invite?: Invite },
  dir: string | undefined,
  opts: { yes: boolean; once: boolean; rescanInterval: number },
  global: GlobalOptions,
): Promise<void> {
  const logger = stderrLogger(global.verbose);
  const device = await Device.start({
    home: global.home,
    logger,
    watch: !opts.once,
    scanIntervalMs: opts.rescanInterval * 1000,
  });
  const { address, invite } = peer;
  const target = formatHostPort(address);
  const started = performance.now();
  let refusal: FsyncError | undefined;
  const existing = dir ? await device.folderAt(dir) : undefined;
  let folderId = existing?.id;
  const stop = new AbortController();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => resolveDone = r);
  device.onOffer(async (offer) => {
    const path = resolve(dir ?? safeLabel(offer.label));
    console.log(
      `${offer.peerName} (${offer.peerId}) offers folder "${offer.label}": ` +
        `${offer.fileCount} files, ${humanBytes(offer.totalBytes)}`,
    );
    if (!opts.yes) {
      if (!Deno.stdin.isTerminal()) {
        refusal = new UsageError(
          `not joining "${offer.label}": no terminal to confirm the offer`,
          "pass --yes to accept without asking",
        );
        resolveDone();
        return { decline: "the user was not asked (no terminal)" };
      }
      if (!(await askYesNo(`Accept and sync it into ${path}?`))) {
        refusal = new UsageError(`declined folder "${offer.label}"`);
        resolveDone();
        return { decline: "declined by the user" };
      }
    }
    try {
      await Deno.mkdir(path, { recursive: true });
    } catch (e) {
      refusal = new FsyncError(`cannot create ${path}: ${(e as Error).message}`, ExitCode.io, { cause: e });
      resolveDone();
      return { decline: "the replica folder could not be created" };
    }
    folderId = offer.folderId;
    console.log(`Joining "${offer.label}" into ${path}`);
    return { path };
  });
  device.on((e) => {
    if (e.type === "offer-failed") {
      refusal = e.error;
      resolveDone();
    }
    if (e.type === "not-trusted") {
      refusal = new UntrustedPeerError(`${target} (${e.peerId}) does not trust this device`, {
        hint: `join with the fsync://... invite "fsync share" printed, or have the sharer approve ` +
          `this device: fsync share DIR --accept ${device.identity.displayId}`,
      });
      resolveDone();
    }
    if (e.type !== "in-sync" || (folderId && e.folderId !== folderId)) return;
    const seconds = (performance.now() - started) / 1000;
    const { files, bytesFetched, bytesReused } = e.totals;
    console.log(
      `In sync: ${files} files and directories written, ${humanBytes(bytesFetched)} received, ` +
        `${humanBytes(bytesReused)} reused locally, in ${seconds.toFixed(1)} s ` +
        `(${humanBytes(bytesFetched / Math.max(seconds, 0.001))}/s)`,
    );
    if (opts.once) resolveDone();
  });
  try {
    const pin = invite ? { deviceId: invite.deviceId, inviteSecret: invite.secret } : {};
    let { done: sessionDone } = await device.connect(address, pin);
    const reconnect = async () => {
      let waitMs = 500;
      let connected = true;
      while (true) {
        if (connected) await sessionDone;
        if (stop.signal.aborted) return;
        logger.warn(`lost connection to ${target}; retrying in ${(waitMs / 1000).toFixed(1)} s`);
        await abortableSleep(waitMs, stop.signal);
        if (stop.signal.aborted) return;
        try {
          sessionDone = (await device.connect(address, pin)).done;
          logger.info(`reconnected to ${target}`);
          [connected, waitMs] = [true, 500];
        } catch (e) {
          if (!(e instanceof FsyncError)) throw e;
          logger.debug(e.message);
          [connected, waitMs] = [false, Math.min(waitMs * 2, 15_000)];
        }
      }
    };
    const reconnecting = reconnect();
    // The reconnect loop is owned here: a failure in it ends the command with its error.
    await Promise.race([done, reconnecting, opts.once ? new Promise(() => {}) : untilSignal()]);
    stop.abort();
    await device.close(); // ends the session, so the loop sees the abort and returns
    await reconnecting;
    if (refusal) throw refusal;
  } finally {
    stop.abort();
    await device.close();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** A folder label as a directory name: its last component, or "shared" when unusable. */
function safeLabel(label: string): string {
  const name = basename(label.replaceAll("\\", "/"));
  return name === "" || name === "." || name === ".." ? "shared" : name;
}

/** A positive whole number option. */
function wholeNumber(what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`must be a whole number of ${what} (1 or more)`);
    return n;
  };
}

/** `join`'s first argument: an invite, or HOST:PORT. */
function parsePeer(value: string): { address: HostPort; invite?: Invite } {
  try {
    if (!isInvite(value)) return { address: parseHostPort(value, DEFAULT_PORT) };
    const invite = parseInvite(value);
    return { address: invite.address, invite };
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** `--rescan-interval`: how often a full scan backs up the watcher. */
function rescanOption(): Option {
  return new Option("--rescan-interval <seconds>", "full scan interval backing up the file watcher")
    .argParser(wholeNumber("seconds"))
    .default(3600);
}

/** Builds the command line parser. */
function program(): Command {
  const cmd = new Command()
    .name("fsync")
    .description("Peer-to-peer folder synchronization.")
    .version("0.1.0")
    .option("--home <dir>", "state directory (index, device key)", defaultHome())
    .option("-v, --verbose", "print debug logs and error causes", false)
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_CODES)
    .exitOverride();
  cmd.command("share")
    .description("share a folder and wait for peers to join")
    .argument("<dir>", "the folder to share")
    .addOption(
      new Option("--listen <host:port>", "address to listen on").argParser(parseAddress)
        .default(parseHostPort(`0.0.0.0:${DEFAULT_PORT}`), `0.0.0.0:${DEFAULT_PORT}`),
    )
    .option("--name <label>", "folder label shown to peers (default: the folder's name)")
    .addOption(rescanOption())
    .addOption(
      new Option("--invite-uses <n>", "how many devices the printed invite admits").argParser(wholeNumber("uses"))
        .default(1),
    )
    .addOption(
      new Option("--invite-ttl <hours>", "how long the printed invite is valid").argParser(wholeNumber("hours"))
        .default(24),
    )
    .addOption(
      new Option("--accept <device-id>", "let this device join without an invite (repeatable)")
        .argParser((v: string, previous: string[]) => [...previous, normalizeDeviceId(v)])
        .default([]),
    )
    .addHelpText("after", "\nExample:\n  fsync share ~/Documents --listen 0.0.0.0:50051")
    .action((dir, opts, c) => share(dir, opts, c.optsWithGlobals()));
  cmd.command("join")
    .description("join a folder shared by a peer and keep it in sync")
    .argument("<invite|host:port>", "the invite printed by `fsync share`, or the sharing peer's address", parsePeer)
    .argument("[dir]", "where to put the replica (default: the folder's label in the current directory)")
    .option("-y, --yes", "accept the offer without asking", false)
    .option("--once", "exit 0 as soon as the replica is complete (for scripts and cron)", false)
    .addOption(rescanOption())
    .addHelpText(
      "after",
      "\nExamples:\n  fsync join fsync://192.168.1.20:50051/ID/SECRET ~/Documents\n  fsync join 192.168.1.20:50051 ~/Documents --yes   (the sharer must approve this device)",
    )
    .action((peer, dir, opts, c) => join(peer, dir, opts, c.optsWithGlobals()));
  cmd.command("peers")
    .description("list the devices this one knows, whether they are trusted, and what is shared with them")
    .action(async (_opts, c) => {
      const { home } = c.optsWithGlobals() as GlobalOptions;
      const peers = await listPeers(home);
      if (peers.length === 0) console.log("no peers yet");
      for (const p of peers) {
        const folders = p.folders.length > 0 ? p.folders.map((f) => `"${f}"`).join(", ") : "nothing";
        console.log(
          `${p.deviceId}  ${p.trusted ? "trusted" : "revoked"}  ${p.name}  ${p.address || "-"}  shares ${folders}`,
        );
      }
    });
  cmd.command("revoke")
    .description("stop trusting a device: its sessions end and its next connection is refused")
    .argument("<device-id>", "the device (see `fsync peers`)")
    .action(async (deviceId, _opts, c) => {
      const { home } = c.optsWithGlobals() as GlobalOptions;
      const peer = await revokePeer(home, deviceId);
      console.log(`revoked ${peer.name} (${peer.deviceId})`);
    });
  cmd.command("id")
    .description("print this device's ID")
    .action(async (_opts, c) => {
      const { home, verbose } = c.optsWithGlobals() as GlobalOptions;
      const device = await Device.start({ home, logger: stderrLogger(verbose) });
      console.log(device.identity.displayId);
      await device.close();
    });
  return cmd;
}

/** A device ID as typed (any case, with or without dashes), in display form. */
function normalizeDeviceId(value: string): string {
  const id = parseDeviceId(value);
  if (!id) throw new InvalidArgumentError(`not a device ID: ${value}`);
  return formatDeviceId(id);
}

/** Runs the CLI with `args` and returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  const verbose = args.includes("-v") || args.includes("--verbose");
  try {
    await program().parseAsync(args, { from: "user" });
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message; help and version are not errors.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (e instanceof FsyncError) {
      console.error(`fsync: ${e.message}${e.hint ? ` (${e.hint})` : ""}`);
      if (verbose) console.error(e.stack, e.cause ?? "");
      return e.exitCode;
    }
    console.error(`fsync: internal error: ${(e as Error).stack ?? e}`);
    return ExitCode.bug;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
