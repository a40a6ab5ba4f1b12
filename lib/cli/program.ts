import { Command, Option } from "commander";
import { DEFAULT_PORT } from "../model/mod.ts";
import type { GlobalOptions } from "./context.ts";
import { defaultHome } from "./env.ts";
import { normalizeDeviceId, parseAddress, parseLogLevel, parseMode, parsePeer, wholeNumber } from "./parsers.ts";

/**
 * The commands, loaded when one runs: parsing alone, which the first stage does for every
 * command (see `sandbox.ts`), loads none of fsync's library.
 */
const commands = () => import("./commands.ts");

/** Printed under the main --help. */
const EXIT_CODES = `
Exit codes:
  0   ok (for sync --once: in sync)
  2   usage: bad arguments or flags
  69  unavailable: peer unreachable, port in use
  70  internal error (a bug: please report it with the --verbose output)
  74  local IO: folder missing or unreadable, disk full
  75  try again later: another fsync uses the home, sync --once ran out of time, or a folder
      is stopped (root unmounted or replaced) or holds a big deletion (fsync folder --help)
  76  protocol or integrity error from a peer
  77  device not trusted
  78  configuration file invalid

Settings are read from HOME/config.toml (written with every setting commented out on first
use); flags override it.
`;

/** Help text listing examples. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}`;
}

/** `--rescan-interval`: how often a full scan backs up the watcher (default: the configuration's). */
function rescanOption(): Option {
  return new Option("--rescan-interval <seconds>", "full scan interval backing up the file watcher (default 3600)")
    .argParser(wholeNumber("seconds"));
}

/** `--mode` of a folder (default: the configuration's, else send-receive). */
function modeOption(): Option {
  return new Option(
    "--mode <mode>",
    "send-receive (default), send-only (peers' changes are not applied here) or receive-only (changes made here are not sent)",
  ).argParser(parseMode);
}

/** `--listen` (default: the configuration's). */
function listenOption(): Option {
  return new Option(
    "--listen <host:port>",
    `address to listen on for peers (default 0.0.0.0:${DEFAULT_PORT}, or the next free port)`,
  ).argParser(parseAddress);
}

/** `--introduce` (the default) and `--no-introduce`, applied to `cmd`; unset, a folder keeps its setting. */
function introduceOptions(cmd: Command): Command {
  return cmd
    .option(
      "--introduce",
      "introduce the folder's devices to each other, and trust devices introduced for it (default)",
    )
    .option("--no-introduce", "neither introduce the folder's devices to each other nor trust devices introduced");
}

/** `--discovery` and `--no-discovery`, applied to `cmd`; unset, the configuration's `discovery` decides. */
function discoveryOptions(cmd: Command): Command {
  return cmd
    .option("--discovery", "announce this device on the local network and find trusted devices there (default)")
    .option("--no-discovery", "neither announce this device on the local network nor listen for announcements");
}

/** Builds the command line parser; every action gets the loaded configuration and a logger. */
export function program(): Command {
  const cmd = new Command()
    .name("fsync")
    .description("Peer-to-peer folder synchronization.")
    .version("0.1.0")
    .option("--home <dir>", "state directory (index, device key, config.toml)", defaultHome())
    .option("-v, --verbose", "print debug logs and error causes", false)
    .addOption(
      new Option("--log-level <level>", "least severe log lines shown: debug, info, warn, error (default info)")
        .argParser(parseLogLevel),
    )
    .option("--json-logs", "write log lines as JSON objects")
    .option("--no-json-logs", "write log lines as text (overrides json_logs in the configuration)")
    .addOption(
      new Option("--max-send-kbps <KiB/s>", "limit block data sent to all peers together (0: no limit)")
        .argParser(wholeNumber("KiB/s", 0)),
    )
    .addOption(
      new Option("--max-recv-kbps <KiB/s>", "limit block data received from all peers together (0: no limit)")
        .argParser(wholeNumber("KiB/s", 0)),
    )
    .addOption(
      new Option("--progress-interval <seconds>", "when output is not a terminal, log pull progress this often")
        .argParser(wholeNumber("seconds")).default(10),
    )
    .showHelpAfterError("(run with --help for usage)")
    // Each command's help lists the options every command takes (--home first among them).
    .configureHelp({ showGlobalOptions: true })
    .addHelpText("after", EXIT_CODES + examples("fsync share ~/Documents", "fsync --home /srv/fsync status --json"))
    .exitOverride();
  // Each subcommand exits on its own errors the same way.
  const sub = (name: string) => cmd.command(name).showHelpAfterError("(run with --help for usage)").exitOverride();
  const globals = (c: Command) => c.optsWithGlobals() as GlobalOptions;

  discoveryOptions(introduceOptions(sub("share")))
    .description("share a folder and wait for peers to join")
    .argument("<dir>", "the folder to share")
    .addOption(listenOption())
    .option("--name <label>", "folder label shown to peers (default: the folder's name)")
    .addOption(modeOption())
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
    .addHelpText(
      "after",
      examples(
        "fsync share ~/Documents",
        "fsync share ~/Photos --listen 0.0.0.0:50052 --invite-uses 3",
        "fsync share ~/Backups --mode send-only",
      ),
    )
    .action(async (dir, opts, c) => await (await commands()).shareCommand(dir, opts, globals(c)));

  discoveryOptions(introduceOptions(sub("join")))
    .description("join a folder shared by a peer and keep it in sync")
    .argument("<invite|host:port>", "the invite printed by `fsync share`, or the sharing peer's address", parsePeer)
    .argument("[dir]", "where to put the replica (default: the folder's label in the current directory)")
    .option("-y, --yes", "accept the offer without asking", false)
    .option("--once", "exit 0 as soon as the replica is complete (for scripts and cron)", false)
    .addOption(listenOption())
    .addOption(modeOption())
    .addOption(rescanOption())
    .addHelpText(
      "after",
      examples(
        "fsync join fsync://192.168.1.20:50051/ID/SECRET ~/Documents",
        "fsync join 192.168.1.20:50051 ~/Documents --yes   (the sharer must approve this device)",
        "fsync join fsync://192.168.1.20:50051/ID/SECRET ~/Documents --listen 0.0.0.0:50052",
      ),
    )
    .action(async (peer, dir, opts, c) => await (await commands()).joinCommand(peer, dir, opts, globals(c)));

  discoveryOptions(sub("run"))
    .description(
      "sync every folder of the home (from share, join and config.toml's [[folders]]) with every known peer, " +
        "listening for peers (for systemd)",
    )
    .addOption(listenOption())
    .addOption(rescanOption())
    .addHelpText("after", examples("fsync run", "fsync --home /srv/fsync run --listen 0.0.0.0:50051"))
    .action(async (opts, c) => await (await commands()).serveCommand(opts, globals(c), true));

  sub("sync")
    .description(
      "sync every folder of the home (from share, join and config.toml's [[folders]]) with the peers it knows, " +
        "dialling them (not listening)",
    )
    .option(
      "--once",
      "converge once, then exit: 0 in sync, 69 a peer unreachable, 75 home in use, timed out, " +
        "or a folder stopped or holding a big deletion",
    )
    .addOption(
      new Option("--timeout <seconds>", "with --once: how long to wait for convergence").argParser(
        wholeNumber("seconds"),
      ).default(3600),
    )
    .addOption(rescanOption())
    .addHelpText(
      "after",
      examples(
        "fsync sync --once",
        "*/15 * * * * fsync sync --once --timeout 600 >> ~/fsync.log 2>&1   (a crontab line)",
      ),
    )
    .action(async (opts, c) => {
      const { serveCommand, syncOnceCommand } = await commands();
      await (opts.once ? syncOnceCommand(opts, globals(c)) : serveCommand(opts, globals(c), false));
    });

  const service = sub("service").description("run fsync as a systemd service");
  service.command("install")
    .description("write a systemd unit that runs `fsync run` on this home, restarting it on failure")
    .option("--user", "a user unit (systemctl --user) instead of a system one", false)
    .option("--unit-dir <dir>", "write the unit there instead of systemd's directory")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText("after", examples("fsync service install --user", "sudo fsync --home /srv/fsync service install"))
    .action(async (opts, c) => await (await commands()).serviceInstallCommand(opts, globals(c)));

  const folder = sub("folder").description(
    "act on a stopped folder (root unmounted or replaced) or a held big deletion (see fsync status)",
  );
  folder.command("rescan")
    .description(
      "scan a folder now: it syncs again if its root is back; with --accept-empty, take the root as it is " +
        "(even empty, making it and its marker): every missing file is deleted on every peer",
    )
    .argument("<folder>", "folder ID or label (fsync status --json lists them)")
    .option("--accept-empty", "the folder really is empty (or lost its files): delete them everywhere", false)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText("after", examples("fsync folder rescan photos", "fsync folder rescan --accept-empty photos"))
    .action(async (id, opts, c) =>
      await (await commands()).folderCommand(id, opts.acceptEmpty ? "accept-empty" : "rescan", globals(c))
    );
  folder.command("confirm-deletes")
    .description(
      "send a big deletion that is held (by default over 50% of a folder's files and over 100 files in one " +
        "scan; big_delete_percent and big_delete_files in config.toml's [[folders]])",
    )
    .argument("<folder>", "folder ID or label")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText("after", examples("fsync folder confirm-deletes photos"))
    .action(async (id, _opts, c) => await (await commands()).folderCommand(id, "confirm-deletes", globals(c)));

  sub("status")
    .description("show folders, peers (connected, last seen), what is still needed and from whom, the last problem")
    .option("--json", "print it as JSON", false)
    .addHelpText("after", examples("fsync status", "fsync status --json | jq '.folders[].peers'"))
    .action(async (opts, c) => await (await commands()).statusCommand(opts.json, globals(c)));

  sub("conflicts")
    .description("list conflict copies, with the two versions' origins and times")
    .option("--json", "print them as JSON", false)
    .addHelpText("after", examples("fsync conflicts", "fsync conflicts --json"))
    .action(async (opts, c) => await (await commands()).conflictsCommand(opts.json, globals(c)));

  sub("why")
    .description("say whether a path is ignored (.fsyncignore or the defaults), and by which pattern")
    .argument("<path>", "a path inside a synced folder (it need not exist; end it with / for a directory)")
    .option("--json", "print the answer as JSON", false)
    .addHelpText("after", examples("fsync why ~/Documents/build/out.js", "fsync why ~/Documents/cache/ --json"))
    .action(async (path, opts, c) => await (await commands()).whyCommand(path, opts.json, globals(c)));

  sub("peers")
    .description(
      "list the devices this one knows: trusted or revoked, address, folders shared, connected or last seen, " +
        "and who introduced them",
    )
    .addHelpText("after", examples("fsync peers"))
    .action(async (_opts, c) => await (await commands()).peersCommand(globals(c)));

  sub("revoke")
    .description("stop trusting a device: its sessions end and its next connection is refused")
    .argument("<device-id>", "the device (see `fsync peers`)")
    .addHelpText("after", examples("fsync revoke ABCDEFG-HIJKLMN-..."))
    .action(async (deviceId, _opts, c) => await (await commands()).revokeCommand(deviceId, globals(c)));

  sub("id")
    .description("print this device's ID")
    .addHelpText("after", examples("fsync id"))
    .action(async (_opts, c) => await (await commands()).idCommand(globals(c)));
  return cmd;
}
