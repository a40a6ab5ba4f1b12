/**
 * Initial sync over real processes on 127.0.0.1 (mutual TLS): `fsync join --once` of a
 * generated tree, timed from start to exit, with each peer's peak RSS and CPU time read
 * from /proc while they run, and optionally `cp -a` of the same tree on the same disk.
 */
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../../tests/support/peer.ts";
import { generateTree, type TreeSpec } from "../gen_tree.ts";

/** Peak resident memory and CPU time of a process, sampled from /proc. */
export interface Usage {
  peakRssBytes: number;
  cpuSeconds: number;
}

/** Figures of one initial sync. */
export interface InitialSyncFigures {
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  /** `cp -a` of the same tree, when asked for. */
  readonly cpSeconds?: number;
  readonly sharer: Usage;
  readonly joiner: Usage;
}

/** Generates `spec` (deterministically), shares it, and times a joiner's `--once` run. */
export async function measureInitialSync(
  spec: TreeSpec,
  options: { compareWithCp?: boolean } = {},
): Promise<InitialSyncFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-initial-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const summary = await generateTree(src, spec);
    const cpSeconds = options.compareWithCp ? await timeCp(src, join(tmp, "cp-copy")) : undefined;
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
    await using _ = sharer;
    const sharerAtStart = await sample(sharer.pid, { peakRssBytes: 0, cpuSeconds: 0 });
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
    const usage = { sharer: { peakRssBytes: 0, cpuSeconds: 0 }, joiner: { peakRssBytes: 0, cpuSeconds: 0 } };
    let exited = false;
    const code = joiner.exit(900_000).finally(() => exited = true);
    while (!exited) {
      await sample(joiner.pid, usage.joiner);
      await sample(sharer.pid, usage.sharer);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (await code !== 0) throw new Error(`join failed:\n${joiner.log()}`);
    const seconds = (performance.now() - started) / 1000;
    usage.sharer.cpuSeconds -= sharerAtStart.cpuSeconds; // its start-up scan is not the sync
    return { files: summary.files, bytes: summary.bytes, seconds, cpSeconds, ...usage };
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

/** Updates `usage` from /proc/PID (peak RSS and CPU seconds so far); a gone process leaves it as it was. */
async function sample(pid: number, usage: Usage): Promise<Usage> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const hwm = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? 0) * 1024;
    const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
    usage.peakRssBytes = Math.max(usage.peakRssBytes, hwm);
    usage.cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in 1/100 s
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return usage;
}
