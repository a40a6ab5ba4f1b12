import { isOsError } from "../fs/mod.ts";
import type { FolderMode } from "../model/mod.ts";
import { type Decider, folderDecider, folderModeOf } from "../plan/mod.ts";
import { IgnoreRules, loadIgnoreRules } from "../scan/mod.ts";
import type { FolderRecord } from "../store/mod.ts";

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
  return { mode, decider: folderDecider((path, isDirectory) => rules.ignores(path, isDirectory), "", mode) };
}
