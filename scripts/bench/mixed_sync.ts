/**
 * The mixed dataset (10,000 files of up to 16 KiB in nested directories, 20 of
 * 5 MiB, 2 of 200 MiB): fsync's initial sync against `cp -a` of the same tree on the same
 * disk, with each peer's peak RSS and CPU seconds read from /proc while they run.
 */
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../../tests/support/peer.ts";
import { generateTree } from "../gen_tree.ts";

const MiB = 1 << 20;

/** Peak resident memory and CPU time of a process, sampled from /proc. */
interface Usage {
  peakRssBytes: number;
  cpuSeconds: number;
}

/** Figures of one mixed-dataset run. */
export interface MixedSyncFigures {
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly cpSeconds: number;
  readonly sharer: Usage;
  readonly joiner: Usage;
}

/** Generates the dataset, times `cp -a`, then times `fsync join --once` while sampling both peers. */
export async function measureMixedSync(): Promise<MixedSyncFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-mixed-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const summary = await generateTree(src, {
      smallFiles: 10_000,
      maxSmallBytes: 16 * 1024,
      largeFiles: [...Array(20).fill(5 * MiB), 200 * MiB, 200 * MiB],
      seed: 11,
    });
    const cpStarted = performance.now();
    const cp = await new Deno.Command("cp", { args: ["-a", src, join(tmp, "cp-copy")] }).output();
    const cpSeconds = (performance.now() - cpStarted) / 1000;
    if (!cp.success) throw new Error(`cp -a failed: ${new TextDecoder().decode(cp.stderr)}`);
    await Deno.remove(join(tmp, "cp-copy"), { recursive: true });

    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
    await using _ = sharer;
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
    const sharerStart = await sample(sharer.pid, { peakRssBytes: 0, cpuSeconds: 0 });
    let exited = false;
    const code = joiner.exit(900_000).finally(() => exited = true);
    while (!exited) {
      await sample(joiner.pid, usage.joiner);
      await sample(sharer.pid, usage.sharer);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (await code !== 0) throw new Error(`join failed:\n${joiner.log()}`);
    const seconds = (performance.now() - started) / 1000;
    usage.sharer.cpuSeconds -= sharerStart.cpuSeconds; // its own start-up scan is not the sync
    return { files: summary.files, bytes: summary.bytes, seconds, cpSeconds, ...usage };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Updates `usage` from /proc/PID (peak RSS so far, CPU seconds so far); a gone process leaves it as it was. */
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
