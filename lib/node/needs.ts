import { isOsError } from "../fs/mod.ts";
import type { Decision, FileInfo, FolderMode } from "../model/mod.ts";
import { decide } from "../plan/mod.ts";
import { IgnoreRules, loadIgnoreRules } from "../scan/mod.ts";
import type { FolderRecord, IndexPair } from "../store/mod.ts";

/** What this folder does about a peer's entry: a decision, or undefined when the folder takes nothing of it. */
export type Decider = (local: FileInfo | undefined, remote: FileInfo) => Decision | undefined;

/**
 * How a folder follows its peers, as the puller and `status` both see it: a send-only folder
 * takes nothing, an ignored path is left alone, and a receive-only folder lets the peer's
 * edit win conflicts.
 */
export function folderDecider(rules: IgnoreRules, shortId: string, mode: FolderMode): Decider {
  return (local, remote) => {
    if (mode === "send-only" || rules.ignores(remote.path, (local ?? remote).type === "directory")) return undefined;
    return decide(local, remote, shortId, mode === "receive-only");
  };
}

/** A folder's mode: set for its path by the configuration or a flag, else stored with it, else send-receive. */
export function folderModeOf(folder: FolderRecord, overrides?: ReadonlyMap<string, FolderMode>): FolderMode {
  return overrides?.get(folder.path) ?? folder.mode ?? "send-receive";
}

/** A folder's mode and how it decides about peers' entries. */
export interface FolderPolicy {
  readonly mode: FolderMode;
  readonly decider: Decider;
}

/**
 * The policy of a folder no runner holds: its mode from `overrides` or the store, and the
 * `.fsyncignore` on disk (none when unreadable).
 */
export function policyFromDisk(
  folder: FolderRecord,
  ignoreDefaults: boolean,
  overrides?: ReadonlyMap<string, FolderMode>,
): FolderPolicy {
  let rules: IgnoreRules;
  try {
    rules = loadIgnoreRules(folder.path, ignoreDefaults);
  } catch (e) {
    if (!isOsError(e)) throw e;
    rules = new IgnoreRules("", ignoreDefaults); // unreadable (EACCES): the running device says so
  }
  const mode = folderModeOf(folder, overrides);
  return { mode, decider: folderDecider(rules, "", mode) };
}

/** What pulling a peer's entries would change here: paths to write or delete, and bytes of files to fetch. */
export interface Needs {
  readonly files: number;
  readonly bytes: number;
}

/** Whether a decision changes the disk (recording a version does not). */
export function changesDisk(
  decision: Decision | undefined,
): decision is Exclude<Decision, { action: "keep" | "record" }> {
  return decision !== undefined && decision.action !== "keep" && decision.action !== "record";
}

/** Counts what a pull over `pairs` would do, deciding as `decider` does. */
export async function countNeeds(pairs: AsyncIterable<IndexPair>, decider: Decider): Promise<Needs> {
  let files = 0;
  let bytes = 0;
  for await (const { local, remote } of pairs) {
    const decision = remote && decider(local, remote);
    if (!changesDisk(decision)) continue;
    files++;
    if (decision.action === "fetch") bytes += decision.file.size;
  }
  return { files, bytes };
}
