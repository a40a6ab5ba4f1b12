/**
 * The rsync anchor: a tree pulled with `rsync -a` from an rsync daemon on 127.0.0.1 (no ssh,
 * no compression), each side measured with the processes it forks.
 */
import { join } from "node:path";
import { freePort } from "../../tests/support/peer.ts";
import { cpuSecondsWithReapedChildren, descendants, peakRssWhile } from "./process_tree.ts";
import type { SyncRun } from "./sync_run.ts";

const TIMEOUT_MS = 900_000;

/** Whether an `rsync` command is installed. */
export async function rsyncInstalled(): Promise<boolean> {
  try {
    return (await new Deno.Command("rsync", { args: ["--version"], stdout: "null" }).output()).success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Pulls `src` into a new directory under `tmp` (removed afterwards) with `rsync -a` from a
 * daemon started for it as this user. Timed: the client, from the start of the shell that runs
 * it to the shell's exit, with the daemon already listening. Sender: the daemon and the child it
 * forks for the connection (CPU: the daemon's own and its reaped child's, since just before the
 * client started). Receiver: the client and the receiver process it forks (CPU: read by the
 * shell once it has waited for the client). Peak RSS of a side: the sum of its processes' peaks.
 */
export async function measureRsyncDaemon(tmp: string, src: string): Promise<SyncRun> {
  const dir = await Deno.makeTempDir({ dir: tmp, prefix: "rsync-" });
  try {
    await using daemon = await RsyncDaemon.start(dir, src);
    const senderCpuAtStart = await daemon.cpuSeconds();
    const stat = join(dir, "client-stat");
    const started = performance.now();
    const client = new Deno.Command("sh", {
      args: [
        "-c",
        'rsync -a "$1" "$2"; code=$?; cat /proc/$$/stat > "$3"; exit $code',
        "sh",
        `rsync://127.0.0.1:${daemon.port}/src/`,
        join(dir, "copy"),
        stat,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const output = withTimeout(client.output(), TIMEOUT_MS, () => signalTree(client.pid, "SIGKILL"), "rsync -a");
    const [senderPeak, receiverPeak] = await peakRssWhile([
      async () => [daemon.pid, ...await descendants(daemon.pid)],
      () => descendants(client.pid),
    ], output);
    const out = await output;
    const seconds = (performance.now() - started) / 1000;
    if (!out.success) throw new Error(`rsync -a failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    await daemon.childrenReaped();
    return {
      seconds,
      sender: { peakRssBytes: senderPeak, cpuSeconds: await daemon.cpuSeconds() - senderCpuAtStart },
      receiver: { peakRssBytes: receiverPeak, cpuSeconds: cpuSecondsWithReapedChildren(await Deno.readTextFile(stat)) },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** An rsync daemon on 127.0.0.1 serving one read-only module, `src`; disposing stops it by PID. */
export class RsyncDaemon implements AsyncDisposable {
  private constructor(readonly port: number, private readonly child: Deno.ChildProcess) {}

  get pid(): number {
    return this.child.pid;
  }

  /** Starts the daemon with its config and log in `dir`, and waits (at most 10 s) until it accepts connections. */
  static async start(dir: string, src: string): Promise<RsyncDaemon> {
    const port = freePort();
    const config = join(dir, "rsyncd.conf");
    const log = join(dir, "rsyncd.log");
    // As this user (a daemon started by root would read as nobody).
    const settings =
      `use chroot = no\nuid = ${Deno.uid()}\ngid = ${Deno.gid()}\n[src]\n  path = ${src}\n  read only = yes\n`;
    await Deno.writeTextFile(config, settings);
    const args = ["--daemon", "--no-detach", `--config=${config}`, `--log-file=${log}`, "--address=127.0.0.1"];
    const child = new Deno.Command("rsync", { args: [...args, `--port=${port}`], stdout: "null", stderr: "null" })
      .spawn();
    const daemon = new RsyncDaemon(port, child);
    for (const deadline = Date.now() + 10_000;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return daemon;
      } catch (e) {
        if (!(e instanceof Deno.errors.ConnectionRefused) || Date.now() > deadline) {
          await daemon[Symbol.asyncDispose]();
          const said = await Deno.readTextFile(log).catch(() => "");
          throw new Error(`the rsync daemon did not listen on 127.0.0.1:${port} within 10 s (${e}); its log:\n${said}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** `rsync -a` of the module into `dest` (bounded by the same timeout as a measured pull). */
  async pull(dest: string): Promise<void> {
    const out = await new Deno.Command("rsync", {
      args: ["-a", `rsync://127.0.0.1:${this.port}/src/`, dest],
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).output();
    if (!out.success) throw new Error(`rsync -a failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }

  /** CPU seconds of the daemon and of the children it has reaped. */
  async cpuSeconds(): Promise<number> {
    return cpuSecondsWithReapedChildren(await Deno.readTextFile(`/proc/${this.pid}/stat`));
  }

  /** Waits (at most 10 s) until the child that served the connection has exited and been reaped. */
  async childrenReaped(): Promise<void> {
    for (const deadline = Date.now() + 10_000; (await descendants(this.pid)).length > 0;) {
      if (Date.now() > deadline) throw new Error("the rsync daemon's child did not exit within 10 s of the client");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops the daemon and any child it has left (SIGTERM, then SIGKILL after 10 s). */
  async [Symbol.asyncDispose](): Promise<void> {
    await signalTree(this.pid, "SIGTERM");
    await withTimeout(this.child.status, 10_000, () => signalTree(this.pid, "SIGKILL"), "stopping the rsync daemon");
  }
}

/** Sends `signal` to `pid` and its descendants, by PID. */
async function signalTree(pid: number, signal: Deno.Signal): Promise<void> {
  for (const p of [...await descendants(pid), pid]) {
    try {
      Deno.kill(p, signal);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // it ended meanwhile
    }
  }
}

/** `promise`, or after `ms` a call of `kill` and an error naming `what`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, kill: () => Promise<void>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms));
  const result = await Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
  if (result !== "timeout") return result;
  await kill();
  throw new Error(`${what} did not finish within ${ms / 1000} s`);
}
