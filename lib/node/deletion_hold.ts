import type { FileInfo } from "../model/mod.ts";
import { type DeletionThresholds, isBigDeletion } from "../plan/mod.ts";
import type { FolderRecord } from "../store/mod.ts";
import type { Logger } from "./logger.ts";

/**
 * A folder's hold on big deletions (like Unison's `confirmbigdeletes`): a scan that deletes
 * more files than the thresholds allow commits everything but its tombstones, and says so
 * once, until a full scan finds no big deletion or the user confirms it.
 */
export class DeletionHold {
  #folder: () => FolderRecord;
  #thresholds: DeletionThresholds;
  #logger: Logger;
  #held?: string;

  constructor(folder: () => FolderRecord, thresholds: DeletionThresholds, logger: Logger) {
    this.#folder = folder;
    this.#thresholds = thresholds;
    this.#logger = logger;
  }

  /** Why deletions are held, when they are. */
  get held(): string | undefined {
    return this.#held;
  }

  /**
   * What of a scan's entries from its first tombstone on is committed: all of them, or all
   * but the tombstones while a big deletion is held. `full`: the scan covered the whole
   * folder; `confirm`: the user confirmed the deletion; `countLive` counts the files (not
   * directories) the index holds, asked only when the deletion may be big.
   */
  async guard(
    deferred: FileInfo[],
    { full, confirm, countLive }: { full: boolean; confirm: boolean; countLive: () => Promise<number> },
  ): Promise<FileInfo[]> {
    const kept = () => deferred.filter((f) => !f.deleted);
    const deleted = deferred.filter((f) => f.deleted && f.type !== "directory").length;
    if (confirm) {
      this.#held = undefined;
      return deferred;
    }
    if (this.#held && !full) return kept();
    if (deleted > this.#thresholds.files) {
      const before = await countLive();
      if (isBigDeletion(deleted, before, this.#thresholds)) {
        this.#hold(deleted, before);
        return kept();
      }
    }
    if (full && this.#held) {
      this.#held = undefined;
      this.#logger.info("no big deletion is held any more", { folder: this.#folder().label });
    }
    return deferred;
  }

  #hold(deleted: number, before: number): void {
    const { percent, files } = this.#thresholds;
    const folder = this.#folder();
    const message = `${deleted} of ${before} files were deleted (more than ${percent}% and ${files} files): ` +
      `the deletions are held, not sent to peers; restore the files, or confirm with ` +
      `\`fsync folder confirm-deletes ${folder.id}\``;
    if (this.#held === message) return;
    this.#held = message;
    this.#logger.warn(message, { folder: folder.label });
  }
}
