// deno-lint-ignore-file no-console -- a command prints for people on standard output.
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ExitCode, FsyncError } from "../model/mod.ts";
import type { CliContext } from "./context.ts";
import { envPath } from "./env.ts";
import { DENO_FLAGS } from "./permissions.ts";

/** The unit's file name. */
const UNIT_NAME = "fsync.service";

/** `fsync service install`'s options. */
export interface ServiceOptions {
  /** A user unit (systemctl --user) instead of a system one. */
  readonly user: boolean;
  /** Where to write the unit instead of systemd's directory. */
  readonly unitDir?: string;
}

/** Quotes a word for a systemd command line when it needs it. */
function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\])/g, "\\$1").replaceAll("%", "%%")}"`;
}

/** The program's main module: a command runs in a Worker (sandbox.ts), which has no Deno.mainModule but its own location, the same cli.ts. */
function mainModule(): string {
  return Deno.mainModule ?? (globalThis as { location?: { href: string } }).location?.href ?? "";
}

/**
 * The command that starts this same fsync: the compiled binary itself, or Deno running
 * this cli.ts with the flags of `deno task fsync`.
 */
export function execStart(home: string): string[] {
  const exe = Deno.execPath();
  if (basename(exe) !== "deno") return [exe, "--home", home, "run"];
  const main = mainModule();
  if (!main.startsWith("file:")) {
    throw new FsyncError(`cannot install a service for ${main}: not a local file`, ExitCode.usage, {
      hint: "install from a compiled fsync or a local checkout",
    });
  }
  const cli = fileURLToPath(main);
  // systemd starts it in /: the project's deno.json (import map, npm packages) is named.
  return [exe, "run", ...DENO_FLAGS, `--config=${join(dirname(cli), "deno.json")}`, cli, "--home", home, "run"];
}

/** The text of the systemd unit running `fsync run` on `home`. */
export function unitText(home: string, user: boolean, runAs?: string): string {
  return `[Unit]
Description=fsync peer-to-peer folder sync (home ${home})
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${execStart(home).map(quote).join(" ")}
${runAs ? `User=${runAs}\n` : ""}Restart=on-failure
RestartSec=10
# fsync stops cleanly on SIGTERM: sessions closed, the index committed.
KillSignal=SIGTERM
TimeoutStopSec=30

[Install]
WantedBy=${user ? "default.target" : "multi-user.target"}
`;
}

/** Where `service install` writes the unit: `--unit-dir`, else systemd's user or system unit directory. */
export function unitDirOf(opts: ServiceOptions): string {
  const configHome = envPath("XDG_CONFIG_HOME") ?? join(envPath("HOME") ?? "/root", ".config");
  return opts.unitDir ?? (opts.user ? join(configHome, "systemd", "user") : "/etc/systemd/system");
}

/** `fsync service install [--user]`: writes the unit and prints how to enable it. */
export async function installService(opts: ServiceOptions, ctx: CliContext): Promise<void> {
  const home = resolve(ctx.home);
  const dir = unitDirOf(opts);
  // A system unit runs as the user who asked for it (through sudo), never silently as root.
  const invoker = Deno.env.get("SUDO_USER") ?? Deno.env.get("USER");
  const runAs = !opts.user && invoker && invoker !== "root" ? invoker : undefined;
  const file = join(dir, UNIT_NAME);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(file, unitText(home, opts.user, runAs));
  } catch (e) {
    const hint = opts.user ? undefined : "run it with sudo, or install a user unit with --user";
    throw new FsyncError(`cannot write ${file}: ${(e as Error).message}`, ExitCode.io, { cause: e, hint });
  }
  const systemctl = opts.user ? "systemctl --user" : "sudo systemctl";
  console.log(`wrote ${file}`);
  console.log(`enable and start it with:\n  ${systemctl} daemon-reload && ${systemctl} enable --now ${UNIT_NAME}`);
  console.log(`its logs: journalctl ${opts.user ? "--user " : ""}-u fsync -f`);
  if (opts.user) console.log(`to keep it running after you log out: loginctl enable-linger ${invoker ?? "$USER"}`);
}
