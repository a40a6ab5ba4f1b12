import { FaultProxy } from "./fault_proxy.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import { DENO_FLAGS } from "../../lib/cli/permissions.ts";
import { waitConverged } from "./tree.ts";

const CLI = fromFileUrl(new URL("../../cli.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));
/** `deno` arguments that run a script as `deno task fsync` and the compiled binary run fsync (rights, unstable APIs, V8 flag). */
export const DENO_RUN_FLAGS: readonly string[] = ["run", ...DENO_FLAGS, "--quiet", `--config=${CONFIG}`];

/** How a test's fsync process is started. */
export interface StartOptions {
  readonly cwd?: string;
  readonly stdin?: "null" | "piped";
  /** Run it where the kernel allows only this many inotify watches (see `canLimitInotify`). */
  readonly inotifyWatchLimit?: number;
  /** Environment variables besides the test's own (NO_COLOR is set). */
  readonly env?: Record<string, string>;
  /** Run it in this network namespace (`ip netns exec`; see tests/support/netns.ts). */
  readonly netns?: string;
}

/** Whether this machine lets a test lower the inotify watch limit for one process (user namespaces). */
export function canLimitInotify(): boolean {
  try {
    const args = ["--user", "--map-root-user", "sh", "-c", "echo 1 > /proc/sys/user/max_inotify_watches"];
    return new Deno.Command("unshare", { args, stderr: "null" }).outputSync().success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A real `fsync` process started by a test; stopped by its PID. */
export class FsyncProcess implements AsyncDisposable {
  readonly pid: number;
  readonly args: readonly string[];
  readonly status: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  #changed: (() => void)[] = [];
  #exited = false;
  #readers: Promise<void>;

  private constructor(args: string[], options: StartOptions) {
    this.args = args;
    const fsync = [Deno.execPath(), ...DENO_RUN_FLAGS, CLI, ...args];
    const command = options.netns !== undefined
      ? ["ip", "netns", "exec", options.netns, ...fsync]
      : options.inotifyWatchLimit === undefined
      ? fsync
      : [
        // A user namespace of its own, whose inotify watch limit can be lowered without touching the machine's.
        ...["unshare", "--user", "--map-root-user", "sh", "-c"],
        `echo ${options.inotifyWatchLimit} > /proc/sys/user/max_inotify_watches && exec "$0" "$@"`,
        ...fsync,
      ];
    this.#child = new Deno.Command(command[0], {
      args: command.slice(1),
      cwd: options.cwd,
      stdin: options.stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
    }).spawn();
    this.pid = this.#child.pid;
    this.#readers = Promise.all([
      this.#collect(this.#child.stdout, (s) => this.#stdout += s),
      this.#collect(this.#child.stderr, (s) => this.#stderr += s),
    ]).then(() => {});
    this.status = this.#child.status;
    this.status.then(() => this.#exited = true);
  }

  /** Starts `fsync ARGS...`. */
  static start(args: string[], options: StartOptions = {}): FsyncProcess {
    return new FsyncProcess(args, options);
  }

  /** Runs `fsync ARGS...` to the end (bounded by `timeoutMs`) and returns its exit code and output. */
  static async run(
    args: string[],
    timeoutMs = 60_000,
    options: Pick<StartOptions, "cwd" | "env"> = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    await using p = FsyncProcess.start(args, options);
    const code = await p.exit(timeoutMs);
    return { code, stdout: p.stdout, stderr: p.stderr };
  }

  get stdout(): string {
    return this.#stdout;
  }

  /** True until the process has exited. */
  get running(): boolean {
    return !this.#exited;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** How much stdout it has printed so far (an offset for `waitFor`). */
  get printed(): number {
    return this.#stdout.length;
  }

  /**
   * Waits until stdout or stderr matches `pattern`; with `stdoutFrom`, only stdout printed
   * after that offset counts (see `printed`).
   */
  async waitFor(pattern: RegExp, timeoutMs = 30_000, stdoutFrom?: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    const match = () =>
      stdoutFrom === undefined
        ? this.#stdout.match(pattern) ?? this.#stderr.match(pattern)
        : this.#stdout.slice(stdoutFrom).match(pattern);
    while (true) {
      const m = match();
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}\n${this.log()}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((r) => this.#changed.push(r)),
        this.status,
        new Promise((r) => timer = setTimeout(r, left)),
      ]).finally(() => clearTimeout(timer));
      if (this.#exited) {
        await this.#readers;
        const last = match();
        if (last) return last;
        throw new Error(`process exited before ${pattern}\n${this.log()}`);
      }
    }
  }

  /** Waits for the process to exit on its own (killing it after `timeoutMs`). */
  async exit(timeoutMs = 60_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs));
    const result = await Promise.race([this.status, timedOut]).finally(() => clearTimeout(timer));
    if (result === "timeout") {
      await this.stop("SIGKILL");
      throw new Error(`fsync ${this.args.join(" ")} did not exit within ${timeoutMs} ms\n${this.log()}`);
    }
    await this.#readers;
    return result.code;
  }

  /**
   * Sends `signal` to the process (by PID) and waits for it to end; with `timeoutMs`, one that
   * has not ended by then is killed and the call fails with its output.
   */
  async stop(signal: Deno.Signal = "SIGTERM", timeoutMs?: number): Promise<void> {
    try {
      Deno.kill(this.pid, signal);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && !(e instanceof TypeError)) throw e;
    }
    if (timeoutMs !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), timeoutMs));
      const ended = await Promise.race([this.status, late]).finally(() => clearTimeout(timer));
      if (ended === "late") {
        await this.stop("SIGKILL");
        throw new Error(`fsync ${this.args.join(" ")} did not end within ${timeoutMs} ms of ${signal}\n${this.log()}`);
      }
    }
    await this.status;
    await this.#readers;
  }

  /** Its output, for failure messages. */
  log(): string {
    return `--- fsync ${this.args.join(" ")} (pid ${this.pid})\n--- stdout\n${this.#stdout}--- stderr\n${this.#stderr}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }

  async #collect(stream: ReadableStream<Uint8Array>, append: (s: string) => void): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      append(text);
      const waiters = this.#changed;
      this.#changed = [];
      for (const w of waiters) w();
    }
  }
}

/** Starts `fsync share DIR` on 127.0.0.1 and returns the process, its port and the invite it printed. */
export async function startSharer(
  dir: string,
  home: string,
  port = 0,
  extra: string[] = [],
  options: StartOptions = {},
): Promise<{ sharer: FsyncProcess; port: number; invite: string }> {
  const sharer = FsyncProcess.start(["--home", home, "share", dir, "--listen", `127.0.0.1:${port}`, ...extra], options);
  const m = await sharer.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 180_000); // after its first scan
  const invite = await sharer.waitFor(/fsync join (fsync:\/\/\S+)/);
  return { sharer, port: Number(m[1]), invite: invite[1] };
}

const IN_SYNC = /In sync: .*?([\d.]+) (B|KiB|MiB|GiB) received/g;
const UNITS = { B: 1, KiB: 1 << 10, MiB: 1 << 20, GiB: 1 << 30 };

/**
 * Bytes a joiner says it received in its latest catching up: its last "In sync" line (each
 * line counts its own catching up), to the precision it prints.
 */
export function receivedBytes(joiner: FsyncProcess): number {
  const lines = [...joiner.stdout.matchAll(IN_SYNC)];
  if (lines.length === 0) throw new Error(`no "In sync" line yet\n${joiner.log()}`);
  const [, n, unit] = lines.at(-1)!;
  return Number(n) * UNITS[unit as "B"];
}

/**
 * Makes `change` on a live pair, waits until both trees are equal and the joiner is in sync
 * again, and returns the bytes the joiner received for it: the sum of its "In sync" lines
 * printed since the change began.
 */
export async function bytesReceivedFor(
  pair: LivePair,
  what: string,
  change: () => Promise<void>,
  timeoutMs = 60_000,
): Promise<number> {
  const printed = pair.joiner.printed;
  await change();
  await waitConverged(pair.a, pair.b, what, timeoutMs);
  await pair.joiner.waitFor(/In sync:/, timeoutMs, printed);
  return [...pair.joiner.stdout.slice(printed).matchAll(IN_SYNC)]
    .reduce((sum, [, n, unit]) => sum + Number(n) * UNITS[unit as "B"], 0);
}

/** A port that was free a moment ago (for tests that restart a listener on the same port). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Two live peers on 127.0.0.1: a sharer of `tmp/a` and a joiner replicating it into `tmp/b`, in sync. */
export interface LivePair extends AsyncDisposable {
  readonly a: string;
  readonly b: string;
  readonly sharer: FsyncProcess;
  readonly joiner: FsyncProcess;
  /** With `throughProxy`: the proxy the joiner dials the sharer through (it counts the bytes). */
  readonly proxy?: FaultProxy;
}

/**
 * Starts a sharer of `tmp/a` (made first by `prepare`, if given) and a joiner into `tmp/b`
 * with the invite (through a {@linkcode FaultProxy} with `throughProxy`), and waits until the
 * joiner is in sync. Disposing stops both by PID.
 */
export async function startLivePair(
  tmp: string,
  prepare?: (a: string) => Promise<void>,
  sharerArgs: string[] = [],
  sharerOptions: StartOptions = {},
  { throughProxy = false }: { throughProxy?: boolean } = {},
): Promise<LivePair> {
  const a = `${tmp}/a`;
  const b = `${tmp}/b`;
  await Deno.mkdir(a, { recursive: true });
  await prepare?.(a);
  const { sharer, port, invite } = await startSharer(a, `${tmp}/home-a`, 0, sharerArgs, sharerOptions);
  const proxy = throughProxy ? await FaultProxy.start(port) : undefined;
  const dialled = proxy ? invite.replace(`:${port}/`, `:${proxy.port}/`) : invite;
  const joiner = FsyncProcess.start(["--home", `${tmp}/home-b`, "join", dialled, b, "--yes"]);
  const pair = {
    a,
    b,
    sharer,
    joiner,
    proxy,
    async [Symbol.asyncDispose]() {
      await joiner.stop("SIGKILL");
      await sharer.stop("SIGKILL");
      await proxy?.close();
    },
  };
  try {
    await joiner.waitFor(/In sync:/);
  } catch (e) {
    await pair[Symbol.asyncDispose]();
    throw e;
  }
  return pair;
}
