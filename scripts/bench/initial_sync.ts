/**
 * Initial sync over real processes on 127.0.0.1 (mutual TLS): `fsync join --once` of a
 * generated tree, timed from start to exit, with each peer's peak RSS and CPU time read
 * from /proc while they run, and optionally `cp -a` of the same tree on the same disk.
 */
import { join } from "node:path";
import { freePort, FsyncProcess, startSharer } from "../../tests/support/peer.ts";
import { type Usage, usageWhile } from "../../tests/support/usage.ts";
import { RECENT_MS } from "../../lib/scan/mod.ts";
import { generateTree, type TreeSpec } from "../../tests/support/gen_tree.ts";

/** Figures of one initial sync. */
export interface InitialSyncFigures {
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  /** `cp -a` of the same tree, when asked for. */
  readonly cpSeconds?: number;
  /** The same tree pulled from a local rsync daemon, when asked for and rsync is installed. */
  readonly rsyncSeconds?: number;
  readonly sharer: Usage;
  readonly joiner: Usage;
}

/** Generates `spec` (deterministically), shares it, and times a joiner's `--once` run. */
export async function measureInitialSync(
  spec: TreeSpec,
  options: { compareWithCp?: boolean; compareWithRsync?: boolean } = {},
): Promise<InitialSyncFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-initial-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const summary = await generateTree(src, spec);
    // A folder being shared is usually older than the racy-mtime window: files modified within
    // it are read a second time by the sharer 2 s after its scan, during the sync.
    await new Promise((r) => setTimeout(r, RECENT_MS));
    const cpSeconds = options.compareWithCp ? await timeCp(src, join(tmp, "cp-copy")) : undefined;
    const rsyncSeconds = options.compareWithRsync ? await timeRsyncDaemon(tmp, src) : undefined;
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
    await using _ = sharer;
    const [sharerAtStart] = await usageWhile([sharer.pid], Promise.resolve());
    const started = performance.now();
    await using joiner = FsyncProcess.start([
      "--home",
      join(tmp, "home-b"),
      "join",
      invite,
      join(tmp, "dst"),
      "--yes",
      "--once",
    ]);
    const code = joiner.exit(900_000);
    const [sharerUsage, joinerUsage] = await usageWhile([sharer.pid, joiner.pid], code);
    if (await code !== 0) throw new Error(`join failed:\n${joiner.log()}`);
    const seconds = (performance.now() - started) / 1000;
    sharerUsage.cpuSeconds -= sharerAtStart.cpuSeconds; // its start-up scan is not the sync
    const usage: { sharer: Usage; joiner: Usage } = { sharer: sharerUsage, joiner: joinerUsage };
    return { files: summary.files, bytes: summary.bytes, seconds, cpSeconds, rsyncSeconds, ...usage };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Seconds `cp -a` takes to copy `src` to `dst` (removed afterwards). */
async function timeCp(src: string, dst: string): Promise<number> {
  const started = performance.now();
  const cp = await new Deno.Command("cp", { args: ["-a", src, dst] }).output();
  const seconds = (performance.now() - started) / 1000;
  if (!cp.success) throw new Error(`cp -a failed: ${new TextDecoder().decode(cp.stderr)}`);
  await Deno.remove(dst, { recursive: true });
  return seconds;
}

/**
 * Seconds `rsync -a` takes to pull `src` from an rsync daemon on 127.0.0.1 (the copy is
 * removed afterwards), or undefined when rsync is not installed.
 */
async function timeRsyncDaemon(tmp: string, src: string): Promise<number | undefined> {
  try {
    await new Deno.Command("rsync", { args: ["--version"], stdout: "null" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const port = freePort();
  const config = join(tmp, "rsyncd.conf");
  // As this user (a daemon started by root would read as nobody).
  const settings =
    `use chroot = no\nuid = ${Deno.uid()}\ngid = ${Deno.gid()}\n[src]\n  path = ${src}\n  read only = yes\n`;
  await Deno.writeTextFile(config, settings);
  const daemon = new Deno.Command("rsync", {
    args: ["--daemon", "--no-detach", `--config=${config}`, "--address=127.0.0.1", `--port=${port}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let tries = 0;; tries++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch (e) {
        if (tries > 100) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const dst = join(tmp, "rsync-copy");
    const started = performance.now();
    const out = await new Deno.Command("rsync", { args: ["-a", `rsync://127.0.0.1:${port}/src/`, dst] }).output();
    const seconds = (performance.now() - started) / 1000;
    if (!out.success) throw new Error(`rsync failed: ${new TextDecoder().decode(out.stderr).split("\n")[0]}`);
    await Deno.remove(dst, { recursive: true });
    return seconds;
  } finally {
    daemon.kill("SIGTERM");
    await daemon.status;
  }
}
