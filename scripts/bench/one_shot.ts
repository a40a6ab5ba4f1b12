/**
 * A one-shot sync with nothing to do, as cron runs it: `fsync sync --once` on the replica of a
 * generated tree whose sharer runs on 127.0.0.1, timed from start to exit; in turns with it,
 * `fsync --version` (the process and its sandbox starting, nothing else) and, when rsync is
 * installed, `rsync -a` from a daemon into a copy that is already complete.
 */
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../../tests/support/peer.ts";
import type { TreeSpec } from "../../tests/support/gen_tree.ts";
import { withGeneratedTree } from "./initial_sync.ts";
import { median } from "./sync_run.ts";
import { RsyncDaemon, rsyncInstalled } from "./rsync_anchor.ts";

/** Median seconds of each no-op run, over `rounds`. */
export interface OneShotFigures {
  readonly files: number;
  readonly rounds: number;
  readonly syncOnceSeconds: number;
  readonly versionSeconds: number;
  readonly rsyncSeconds?: number;
}

/** Seconds `run` takes, from start to end. */
async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

/**
 * Generates `spec`, shares it, joins it once (untimed), then runs `sync --once`, `--version`
 * and the rsync no-op `rounds` times in turns.
 */
export async function measureOneShot(spec: TreeSpec, rounds: number): Promise<OneShotFigures> {
  return await withGeneratedTree(spec, async (tmp, src, summary) => {
    const home = join(tmp, "home-b");
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
    await using _ = sharer;
    const joined = await FsyncProcess.run(
      ["--home", home, "join", invite, join(tmp, "dst"), "--yes", "--once"],
      900_000,
    );
    if (joined.code !== 0) throw new Error(`join --once failed (${joined.code}): ${joined.stderr}`);
    const rsync = await rsyncInstalled() ? await RsyncDaemon.start(tmp, src) : undefined;
    await using __ = rsync;
    const rsyncTo = join(tmp, "rsync-copy");
    if (rsync) await rsync.pull(rsyncTo);
    const runs = { syncOnce: [] as number[], version: [] as number[], rsync: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      runs.syncOnce.push(
        await timed(async () => {
          const { code, stderr } = await FsyncProcess.run(["--home", home, "sync", "--once"], 120_000);
          if (code !== 0) throw new Error(`sync --once failed (${code}): ${stderr}`);
        }),
      );
      runs.version.push(
        await timed(async () => {
          const { code, stderr } = await FsyncProcess.run(["--version"]);
          if (code !== 0) throw new Error(`--version failed (${code}): ${stderr}`);
        }),
      );
      if (rsync) runs.rsync.push(await timed(() => rsync.pull(rsyncTo)));
    }
    return {
      files: summary.files,
      rounds,
      syncOnceSeconds: median(runs.syncOnce),
      versionSeconds: median(runs.version),
      rsyncSeconds: rsync ? median(runs.rsync) : undefined,
    };
  });
}
