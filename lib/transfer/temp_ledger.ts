import { type FileSystem, tryRemove } from "../fs/mod.ts";

/**
 * The temporary files a folder's unfinished pulls left on disk, by the folder-relative path
 * of the file each was building: what a later pull of that path may resume from or mine for
 * blocks. A path has at most one (two peers offering different versions of a path replace
 * each other's). The caller removes a kept one (`discard`) once no pending pull needs it;
 * temporary files not kept here are the scan's to remove. A file that cannot be removed
 * (EACCES, EROFS) is left for a later scan.
 */
export class TempLedger {
  #fs: FileSystem;
  #kept = new Map<string, string>();

  constructor(fs: FileSystem) {
    this.#fs = fs;
  }

  /** The temporary file (absolute path) kept for `path`, if any. */
  get(path: string): string | undefined {
    return this.#kept.get(path);
  }

  /** The paths that have a temporary file kept, with it (absolute). */
  entries(): [path: string, temp: string][] {
    return [...this.#kept];
  }

  /** How many paths have a temporary file kept. */
  get size(): number {
    return this.#kept.size;
  }

  /** Keeps `temp` for `path`, removing the one kept for it before, if another. */
  keep(path: string, temp: string): void {
    const before = this.#kept.get(path);
    this.#kept.set(path, temp);
    if (before !== undefined && before !== temp) tryRemove(this.#fs, before);
  }

  /** Removes the temporary file kept for `path`, unless it is `except`, and forgets it. */
  discard(path: string, except?: string): void {
    const kept = this.#kept.get(path);
    this.#kept.delete(path);
    if (kept !== undefined && kept !== except) tryRemove(this.#fs, kept);
  }
}
