/**
 * fsync beside its anchors on one generated tree: fsync, the rsync daemon and Syncthing take
 * turns (fsync, rsync, Syncthing, fsync, rsync, ...) for some rounds, so that a slow spell of
 * a shared machine falls on all of them, and each tool's figures are the medians of its rounds.
 */
import { join } from "node:path";
import type { TreeSpec } from "../../tests/support/gen_tree.ts";
import { measureFsync, timeCp, withGeneratedTree } from "./initial_sync.ts";
import { measureRsyncDaemon, rsyncInstalled } from "./rsync_anchor.ts";
import { measureSyncthing } from "./syncthing_anchor.ts";
import { syncthingVersion } from "./syncthing_instance.ts";
import { medians, type SyncMedians, type SyncRun } from "./sync_run.ts";

/** What runs beside fsync, and how many rounds. */
export interface AnchorChoice {
  readonly rounds: number;
  readonly rsync?: boolean;
  readonly syncthing?: boolean;
  /** `cp -a` of the tree, once before the rounds. */
  readonly cp?: boolean;
}

/** An anchor asked for: its name, what ran ("rsync daemon", "Syncthing v1.19.2"), and its medians. */
export interface Anchor {
  readonly name: "rsync" | "Syncthing";
  readonly label: string;
  /** Undefined when it is not installed. */
  readonly medians?: SyncMedians;
}

/** fsync's medians and each anchor's, in the order they ran. */
export interface AnchoredFigures {
  readonly files: number;
  readonly bytes: number;
  readonly fsync: SyncMedians;
  readonly anchors: readonly Anchor[];
  readonly cpSeconds?: number;
}

type Measure = (tmp: string, src: string) => Promise<SyncRun>;

/** Generates `spec` once and runs fsync and the chosen anchors on it, in turns, `choice.rounds` times. */
export async function measureWithAnchors(spec: TreeSpec, choice: AnchorChoice): Promise<AnchoredFigures> {
  const rsync = choice.rsync && await rsyncInstalled();
  const syncthing = choice.syncthing ? await syncthingVersion() : undefined;
  return await withGeneratedTree(spec, async (tmp, src, summary) => {
    const cpSeconds = choice.cp ? await timeCp(src, join(tmp, "cp-copy")) : undefined;
    const tools = new Map<string, Measure>([["fsync", measureFsync]]);
    if (rsync) tools.set("rsync", measureRsyncDaemon);
    if (syncthing) tools.set("Syncthing", measureSyncthing);
    const runs = new Map([...tools.keys()].map((name) => [name, [] as SyncRun[]]));
    for (let round = 0; round < choice.rounds; round++) {
      for (const [name, measure] of tools) runs.get(name)!.push(await measure(tmp, src));
    }
    const of = (name: string) => runs.has(name) ? medians(runs.get(name)!) : undefined;
    const anchors: Anchor[] = [];
    if (choice.rsync) anchors.push({ name: "rsync", label: "rsync daemon", medians: of("rsync") });
    if (choice.syncthing) {
      anchors.push({ name: "Syncthing", label: `Syncthing ${syncthing ?? ""}`.trim(), medians: of("Syncthing") });
    }
    return { ...summary, cpSeconds, fsync: of("fsync")!, anchors };
  });
}
