import { join } from "node:path";
import type { FolderMode } from "../model/mod.ts";
import { CONTROL_SOCKET } from "../store/mod.ts";
import { askControl } from "./control.ts";
import { policyFromDisk } from "./needs.ts";
import { openExistingStore } from "./peers.ts";
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
