import { blockCount, blockHash, type FileInfo, toHex } from "../model/mod.ts";
import { type DeletionThresholds, isBigDeletion } from "../plan/mod.ts";
import type { FolderRecord } from "../store/mod.ts";
import type { Logger } from "./logger.ts";

/** Where a deleted file's content may still be in the folder. */
export interface ContentLookup {
  /** The index entries of these paths as the scan found them (its tombstones not yet written). */
  entries(paths: readonly string[]): Promise<(FileInfo | undefined)[]>;
  /** Some local files that held a block with this hash when last indexed. */
  blockPlaces(hash: Uint8Array): Promise<readonly { readonly path: string }[]>;
}

/** Block-map lookups one scan may make to find deleted files' content elsewhere; past them a file counts as lost. */
const MAX_BLOCK_LOOKUPS = 20_000;

/**
 * A folder's hold on big deletions (like Unison's `confirmbigdeletes`): a scan that deletes
 * more files than the thresholds allow commits everything but its tombstones, and says so
 * once, until a full scan finds no big deletion or the user confirms it. A file whose content
 * is still in the folder (moved or renamed with its directory, or copied before) counts as no
 * deletion: renaming a directory that holds most of the folder is no reason to hold anything.
 */
export class DeletionHold {
  #folder: () => FolderRecord;
  #thresholds: DeletionThresholds;
  #logger: Logger;
  #lookup: ContentLookup;
  #held?: string;

  constructor(folder: () => FolderRecord, thresholds: DeletionThresholds, logger: Logger, lookup: ContentLookup) {
    this.#folder = folder;
    this.#thresholds = thresholds;
    this.#logger = logger;
    this.#lookup = lookup;
  }

  /** Why deletions are held, when they are. */
  get held(): string | undefined {
    return this.#held;
  }

  /**
   * What of a scan's entries from its first tombstone on is committed (`commit`): all of
   * them, or all but the tombstones while a big deletion is held. A scan of some paths only
   * decides no big deletion: it commits no tombstone and asks for a full scan (`rescanInFull`),
   * which sees both ends of a move the watcher reported in separate batches. `full`: the scan
   * covered the whole folder; `confirm`: the user confirmed the deletion; `countLive` counts
   * the files (not directories) the index holds, asked only when the deletion may be big.
   */
  async guard(
    deferred: FileInfo[],
    { full, confirm, countLive }: { full: boolean; confirm: boolean; countLive: () => Promise<number> },
  ): Promise<{ commit: FileInfo[]; rescanInFull: boolean }> {
    const kept = () => deferred.filter((f) => !f.deleted);
    const deleted = deferred.filter((f) => f.deleted && f.type !== "directory");
    if (confirm) {
      this.#held = undefined;
      return { commit: deferred, rescanInFull: false };
    }
    if (this.#held && !full) return { commit: kept(), rescanInFull: false };
    if (deleted.length > this.#thresholds.files) {
      const lost = await this.#lost(deleted, deferred);
      const before = lost > this.#thresholds.files ? await countLive() : 0;
      if (isBigDeletion(lost, before, this.#thresholds)) {
        if (!full) return { commit: kept(), rescanInFull: true };
        this.#hold(lost, before);
        return { commit: kept(), rescanInFull: false };
      }
    }
    if (full && this.#held) {
      this.#held = undefined;
      this.#logger.info("no big deletion is held any more", { folder: this.#folder().label });
    }
    return { commit: deferred, rescanInFull: false };
  }

  /**
   * How many of the deleted files (tombstones of a scan) took content with them: content that
   * no live file holds, neither one the same scan found (same content hash, or symlink target)
   * nor one indexed before (every block in the block map at a path not deleted now).
   */
  async #lost(deleted: readonly FileInfo[], scanned: readonly FileInfo[]): Promise<number> {
    const gone = new Set(deleted.map((f) => f.path));
    const arrived = new Set(scanned.filter((f) => !f.deleted).map(contentKey));
    let lookups = 0;
    let lost = 0;
    for (const old of await this.#lookup.entries(deleted.map((f) => f.path))) {
      if (!old || old.deleted || old.type === "directory") continue; // nothing was there to lose
      if (arrived.has(contentKey(old)) || (old.type === "file" && old.size === 0)) continue;
      let found = false;
      if (old.type === "file" && lookups + blockCount(old) <= MAX_BLOCK_LOOKUPS) {
        lookups += blockCount(old);
        found = true;
        for (let i = 0; found && i < blockCount(old); i++) {
          found = (await this.#lookup.blockPlaces(blockHash(old, i))).some((p) => !gone.has(p.path));
        }
      }
      if (!found) lost++;
    }
    return lost;
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

/** What identifies an entry's content: a file's content hash, a symlink's target. */
function contentKey(f: FileInfo): string {
  return f.type === "symlink" ? `link:${f.symlinkTarget}` : `${f.type}:${toHex(f.contentHash)}`;
}
