import { FolderWatcher, type RescanHint } from "../watch/mod.ts";
import { hasMarker } from "./folder_marker.ts";

/** How often a stopped folder's root is looked at for its marker. */
export const ROOT_POLL_MS = 5_000;

/** What a folder's watch reports. */
export interface FolderWatchOptions {
  /** Paths to rescan; `all` after the root came back (the folder resumes at that scan). */
  readonly onHint: (hint: RescanHint) => void;
  /** The kernel refuses to watch the folder (e.g. too few inotify watches). */
  readonly onFailure: (message: string) => void;
  readonly pollMs?: number;
}

/**
 * Watches one folder: a FolderWatcher while its root is in place, and while the folder is
 * stopped (root unmounted, removed or replaced) a look every ROOT_POLL_MS for the marker,
 * whose return starts watching again and asks for a full scan. Deno's watcher ends silently
 * when its root is removed, and a root made again is another directory to watch.
 */
export class FolderWatch {
  #root: string;
  #options: FolderWatchOptions;
  #watcher?: FolderWatcher;
  #poll?: ReturnType<typeof setInterval>;
  #closed = false;

  constructor(root: string, options: FolderWatchOptions) {
    this.#root = root;
    this.#options = options;
  }

  /** Starts watching when the root is a directory; resolves once changes are seen. */
  async start(): Promise<void> {
    if (this.#closed || this.#watcher || !isDirectory(this.#root)) return;
    this.#watcher = new FolderWatcher({
      root: this.#root,
      onHint: this.#options.onHint,
      onFailure: this.#options.onFailure,
    });
    await this.#watcher.ready;
  }

  /** The folder stopped: watching ends, and the root is looked at until its marker is back. */
  stopped(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#closed || this.#poll !== undefined) return;
    this.#poll = setInterval(() => {
      if (!hasMarker(this.#root)) return;
      clearInterval(this.#poll);
      this.#poll = undefined;
      this.start().then(
        () => this.#closed || this.#options.onHint({ all: true, paths: new Set() }),
        (e) => this.#options.onFailure((e as Error).message),
      );
    }, this.#options.pollMs ?? ROOT_POLL_MS);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#poll);
    this.#watcher?.close();
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    throw e;
  }
}
