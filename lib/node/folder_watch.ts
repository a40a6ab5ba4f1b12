import { FolderWatcher, type RescanHint } from "../watch/mod.ts";
import { isOsError } from "../fs/mod.ts";
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
  /** A look found the marker and is starting the watcher. */
  #looking = false;
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

  /**
   * The folder stopped: watching ends, and the root is looked at until the folder resumes
   * (`resumed`). Each look that finds the marker watches the root (again, if it changed
   * meanwhile) and asks for the full scan that resumes the folder.
   */
  stopped(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#closed || this.#poll !== undefined) return;
    this.#poll = setInterval(() => {
      if (this.#looking || !markerFound(this.#root)) return;
      this.#looking = true;
      this.#watcher?.close();
      this.#watcher = undefined;
      this.start().then(
        () => this.#watcher && !this.#closed && this.#options.onHint({ all: true, paths: new Set() }),
        (e) => this.#options.onFailure((e as Error).message),
      ).finally(() => this.#looking = false);
    }, this.#options.pollMs ?? ROOT_POLL_MS);
  }

  /**
   * The folder resumed: its root is in place, and the looks end. Resumed by a command before
   * a look found the marker, the root is watched from now, then scanned in full again (what
   * changed between that scan and the watch).
   */
  resumed(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
    if (this.#watcher || this.#looking || this.#closed) return;
    this.start().then(
      () => this.#watcher && !this.#closed && this.#options.onHint({ all: true, paths: new Set() }),
      (e) => this.#options.onFailure((e as Error).message),
    );
  }

  /** Stops watching and looking. */
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

/** Whether the marker is in the root; a root that cannot be read (EACCES, EIO) has none for now. */
function markerFound(root: string): boolean {
  try {
    return hasMarker(root);
  } catch (e) {
    if (isOsError(e)) return false;
    throw e;
  }
}
