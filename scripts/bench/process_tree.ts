/**
 * Resource use of processes that fork, read from /proc: one side of an rsync transfer is a
 * process with children (the daemon and the child serving a connection; the client and the
 * receiver it forks), so its figures are those of the whole tree.
 */

/** The fields of /proc/PID/stat after the command name (the first is the state, field 3). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
}

/**
 * CPU seconds in a /proc/PID/stat text: the process's own (utime + stime) and those of the
 * children it has waited for (cutime + cstime), in clock ticks of 1/100 s.
 */
export function cpuSecondsWithReapedChildren(stat: string): number {
  const fields = statFields(stat);
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}

/** The PIDs of the living descendants of `pid` (by parent PID, as this kernel has no /proc/PID/task/TID/children). */
export async function descendants(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const parent = Number(statFields(await Deno.readTextFile(`/proc/${entry.name}/stat`))[1]);
      children.set(parent, [...children.get(parent) ?? [], Number(entry.name)]);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // it ended meanwhile
    }
  }
  const found: number[] = [];
  for (let next = [pid]; next.length > 0;) {
    next = next.flatMap((p) => children.get(p) ?? []);
    found.push(...next);
  }
  return found;
}

/**
 * Samples every 100 ms, until `until` settles, the processes each group lists at that moment,
 * and returns each group's peak RSS: the sum of its processes' own peaks (VmHWM), an upper bound
 * of what they held at once (pages shared after a fork count once per process).
 */
export async function peakRssWhile(
  groups: readonly (() => Promise<readonly number[]>)[],
  until: Promise<unknown>,
): Promise<number[]> {
  const peaks = groups.map(() => new Map<number, number>());
  let done = false;
  const settled = until.then(() => done = true, () => done = true);
  const sample = async () => {
    for (const [i, members] of groups.entries()) {
      for (const pid of await members()) {
        try {
          const status = await Deno.readTextFile(`/proc/${pid}/status`);
          const hwm = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? 0) * 1024;
          peaks[i].set(pid, Math.max(peaks[i].get(pid) ?? 0, hwm));
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }
    }
  };
  while (!done) {
    await sample();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([settled, new Promise((r) => timer = setTimeout(r, 100))]);
    clearTimeout(timer);
  }
  return peaks.map((byPid) => [...byPid.values()].reduce((a, b) => a + b, 0));
}
