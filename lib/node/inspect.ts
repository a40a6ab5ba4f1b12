import { join } from "node:path";
import type { FolderMode } from "../model/mod.ts";
import { askControl, CONTROL_SOCKET } from "./control.ts";
import { policyFromDisk } from "./needs.ts";
import { openExistingStore, storePathOf } from "./peers.ts";
import { collectConflicts, collectStatus, type ConflictReport, type StatusReport } from "./status.ts";

/** How to read a home's status when no device runs on it. */
export interface InspectOptions {
  /** Ignore common OS junk besides `.fsyncignore` (as the configuration says). */
  readonly ignoreDefaults: boolean;
  /** Folder modes by path from the configuration. */
  readonly folderModes: ReadonlyMap<string, FolderMode>;
}

/**
 * The status of the device of `home`: asked of the running device through its control
 * socket, or read from the store when none runs.
 *
 * @throws {FsyncError} (usage) when the home holds no fsync state.
 */
export async function readStatus(home: string, options: InspectOptions): Promise<StatusReport> {
  const live = await askControl(join(home, CONTROL_SOCKET), { command: "status" });
  if (live !== undefined) return live as StatusReport;
  const store = await openExistingStore(home);
  try {
    return await collectStatus(store, {
      running: false,
      isConnected: () => false,
      policyOf: (folder) => policyFromDisk(folder, options.ignoreDefaults, options.folderModes),
    });
  } finally {
    store.close();
  }
}

/**
 * The conflict copies in the folders of `home` (read from the store, which a running device shares).
 *
 * @throws {FsyncError} (usage) when the home holds no fsync state.
 */
export async function readConflicts(home: string): Promise<ConflictReport[]> {
  const store = await openExistingStore(home);
  try {
    return await collectConflicts(store);
  } finally {
    store.close();
  }
}

/**
 * The paths of the folders a home syncs, or none when the home holds no fsync state yet.
 * Reads the store without creating anything.
 */
export async function readFolderPaths(home: string): Promise<string[]> {
  try {
    await Deno.stat(storePathOf(home));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return [];
    throw e;
  }
  const store = await openExistingStore(home);
  try {
    return (await store.listFolders()).map((f) => f.path);
  } finally {
    store.close();
  }
}
