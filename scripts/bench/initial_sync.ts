/**
 * Initial sync over real processes on 127.0.0.1 (mutual TLS): `fsync join --once` of a
 * generated tree, timed from start to exit. Prints wall time, MB/s and files/s.
 */
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../../tests/support/peer.ts";
import { generateTree, type TreeSpec } from "../gen_tree.ts";

/** Figures of one initial sync. */
export interface InitialSyncFigures {
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
}

/** Generates `spec` (deterministically), shares it, and times a joiner's `--once` run. */
export async function measureInitialSync(spec: TreeSpec): Promise<InitialSyncFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-initial-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const summary = await generateTree(src, spec);
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
    await using _ = sharer;
    const started = performance.now();
    const r = await FsyncProcess.run([
      "--home",
      join(tmp, "home-b"),
      "join",
      invite,
      join(tmp, "dst"),
      "--yes",
      "--once",
    ], 900_000);
    const seconds = (performance.now() - started) / 1000;
    if (r.code !== 0) throw new Error(`join exited with ${r.code}: ${r.stderr}`);
    return { files: summary.files, bytes: summary.bytes, seconds };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
