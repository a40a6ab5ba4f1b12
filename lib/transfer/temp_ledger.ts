/**
 * The temporary files a folder's unfinished pulls left on disk, by the folder-relative path
 * of the file each was building: what a later pull of that path may resume from or mine for
 * blocks. A path has at most one; every other temporary file of the folder is removed at
 * once. The caller removes a kept one (`discard`) when no pending pull needs it any more.
 */
export class TempLedger {
  #kept = new Map<string, string>();

  /** The temporary file (absolute path) kept for `path`, if any. */
  get(path: string): string | undefined {
    return this.#kept.get(path);
  }

  /** The paths that have a temporary file kept, with it (absolute). */
  entries(): [path: string, temp: string][] {
    return [...this.#kept];
  }

  get size(): number {
    return this.#kept.size;
  }

  /** Keeps `temp` for `path`, removing the one kept for it before, if another. */
  async keep(path: string, temp: string): Promise<void> {
    const before = this.#kept.get(path);
    this.#kept.set(path, temp);
    if (before !== undefined && before !== temp) await removeIfThere(before);
  }

  /** Removes the temporary file kept for `path`, unless it is `except`, and forgets it. */
  async discard(path: string, except?: string): Promise<void> {
    const kept = this.#kept.get(path);
    this.#kept.delete(path);
    if (kept !== undefined && kept !== except) await removeIfThere(kept);
  }
}

/** Removes a file; one already gone is fine. */
export async function removeIfThere(abs: string): Promise<void> {
  try {
    await Deno.remove(abs);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
