/**
 * Initial sync over real processes on 127.0.0.1 (mutual TLS): `fsync join --once` of a
 * generated tree, timed from start to exit, with each peer's peak RSS and CPU time read
 * from /proc while they run; and `cp -a` of a tree on the same disk.
 */
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../../tests/support/peer.ts";
import { usageWhile } from "../../tests/support/usage.ts";
import { RECENT_MS } from "../../lib/scan/mod.ts";
import { generateTree, type TreeSpec, type TreeSummary } from "../../tests/support/gen_tree.ts";
import type { SyncRun } from "./sync_run.ts";

/** Figures of one initial sync by fsync. */
export interface InitialSyncFigures extends SyncRun, TreeSummary {}

/** Generates `spec` (deterministically), shares it, and times a joiner's `--once` run. */
export async function measureInitialSync(spec: TreeSpec): Promise<InitialSyncFigures> {
  return await withGeneratedTree(spec, async (tmp, src, summary) => ({ ...summary, ...await measureFsync(tmp, src) }));
}

/**
 * Generates `spec` into `src` in a new temporary directory `tmp`, waits until its files are
 * older than the racy-mtime window, calls `use`, and removes `tmp`.
 */
export async function withGeneratedTree<T>(
  spec: TreeSpec,
  use: (tmp: string, src: string, summary: TreeSummary) => Promise<T>,
): Promise<T> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-initial-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const summary = await generateTree(src, spec);
    // A folder being shared is usually older than the racy-mtime window: files modified within
    // it are read a second time by the sharer 2 s after its scan, during the sync.
    await new Promise((r) => setTimeout(r, RECENT_MS));
    return await use(tmp, src, summary);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/**
 * One initial sync of `src` by fsync, with homes and the replica in a new directory under
 * `tmp` (removed afterwards): the sharer is started and has scanned before the clock starts;
 * timed, the joiner's `join --yes --once` from start to exit. CPU seconds: the joiner's whole
 * process, the sharer's since its start-up scan. Peak RSS: each process's, since it started.
 */
export async function measureFsync(tmp: string, src: string): Promise<SyncRun> {
  const dir = await Deno.makeTempDir({ dir: tmp, prefix: "fsync-" });
  try {
    const { sharer, invite } = await startSharer(src, join(dir, "home-a"));
    await using _ = sharer;
    const [sharerAtStart] = await usageWhile([sharer.pid], Promise.resolve());
    const started = performance.now();
    await using joiner = FsyncProcess.start([
      "--home",
      join(dir, "home-b"),
      "join",
      invite,
      join(dir, "dst"),
      "--yes",
      "--once",
    ]);
    const code = joiner.exit(900_000);
    const [sender, receiver] = await usageWhile([sharer.pid, joiner.pid], code);
    if (await code !== 0) throw new Error(`join failed:\n${joiner.log()}`);
    const seconds = (performance.now() - started) / 1000;
    sender.cpuSeconds -= sharerAtStart.cpuSeconds; // its start-up scan is not the sync
    return { seconds, sender, receiver };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Seconds `cp -a` takes to copy `src` to `dst` (removed afterwards); killed after 15 minutes. */
export async function timeCp(src: string, dst: string): Promise<number> {
  const started = performance.now();
  const cp = await new Deno.Command("cp", { args: ["-a", src, dst], signal: AbortSignal.timeout(900_000) }).output();
  const seconds = (performance.now() - started) / 1000;
  if (!cp.success) throw new Error(`cp -a failed: ${new TextDecoder().decode(cp.stderr)}`);
  await Deno.remove(dst, { recursive: true });
  return seconds;
}
