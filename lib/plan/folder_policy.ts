import type { Decision, FileInfo, FolderMode } from "../model/mod.ts";
import { decide } from "./decide.ts";

/** What a folder does about a peer's entry: a decision, or undefined when the folder takes nothing of it. */
export type Decider = (local: FileInfo | undefined, remote: FileInfo) => Decision | undefined;

/**
 * How a folder of device `self` follows its peers, as the puller and `status` both see it: a
 * send-only folder takes nothing, a path `ignores` names is left alone, and a receive-only
 * folder lets the peer's edit win conflicts.
 */
export function folderDecider(
  ignores: (path: string, isDirectory: boolean) => boolean,
  self: string,
  mode: FolderMode,
): Decider {
  return (local, remote) => {
    if (mode === "send-only" || ignores(remote.path, (local ?? remote).type === "directory")) return undefined;
    return decide(local, remote, self, mode === "receive-only");
  };
}

/** A folder's mode: set for its path by the configuration or a flag, else stored with it, else send-receive. */
export function folderModeOf(
  folder: { readonly path: string; readonly mode?: FolderMode },
  overrides?: ReadonlyMap<string, FolderMode>,
): FolderMode {
  return overrides?.get(folder.path) ?? folder.mode ?? "send-receive";
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

/**
 * What pulling a peer's entry would do here, deciding as `decider` does: undefined when it
 * changes nothing on disk, else the bytes to fetch (0 for a deletion, a directory, a link).
 */
export function needOf(
  decider: Decider,
  local: FileInfo | undefined,
  remote: FileInfo | undefined,
): number | undefined {
  const decision = remote && decider(local, remote);
  if (!changesDisk(decision)) return undefined;
  return decision.action === "fetch" ? decision.file.size : 0;
}

/** Counts what a pull over `pairs` (local and peer's entries of each path) would do, deciding as `decider` does. */
export async function countNeeds(
  pairs: AsyncIterable<{ readonly local?: FileInfo; readonly remote?: FileInfo }>,
  decider: Decider,
): Promise<Needs> {
  let files = 0;
  let bytes = 0;
  for await (const { local, remote } of pairs) {
    const need = needOf(decider, local, remote);
    if (need === undefined) continue;
    files++;
    bytes += need;
  }
  return { files, bytes };
}
