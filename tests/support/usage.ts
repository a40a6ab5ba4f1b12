/** Peak resident memory and CPU time of a process, sampled from /proc. */
export interface Usage {
  peakRssBytes: number;
  cpuSeconds: number;
}

/** Updates `usage` from /proc/PID (peak RSS and CPU seconds so far); a gone process leaves it as it was. */
export async function sampleUsage(pid: number, usage: Usage): Promise<Usage> {
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

/** Samples the processes every 100 ms until `until` settles; returns each one's usage, in order. */
export async function usageWhile(pids: readonly number[], until: Promise<unknown>): Promise<Usage[]> {
  const usages = pids.map(() => ({ peakRssBytes: 0, cpuSeconds: 0 }));
  let done = false;
  const settled = until.then(() => done = true, () => done = true);
  while (!done) {
    for (const [i, pid] of pids.entries()) await sampleUsage(pid, usages[i]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([settled, new Promise((r) => timer = setTimeout(r, 100))]);
    clearTimeout(timer);
  }
  for (const [i, pid] of pids.entries()) await sampleUsage(pid, usages[i]);
  return usages;
}
