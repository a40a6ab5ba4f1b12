import { TEMP_PREFIX } from "../model/mod.ts";
import { WATCH_WORKER_SOURCE } from "./_worker_source.ts";

/** Paths to rescan, relative to the folder; `all` asks for a full scan. */
export interface RescanHint {
  readonly all: boolean;
  readonly paths: ReadonlySet<string>;
}

/** How a folder watcher reports. */
export interface FolderWatcherOptions {
  /** Absolute path of the folder. */
  readonly root: string;
  /** Called with the paths that changed, at most once per `debounceMs`. */
  readonly onHint: (hint: RescanHint) => void;
  /** Called once when the kernel refuses to watch the folder (e.g. too few inotify watches). */
  readonly onFailure: (message: string) => void;
  /** How long hints are gathered before they are handed over (default 25 ms: change latency ~50 ms median). */
  readonly debounceMs?: number;
}

/**
 * Watches a folder recursively from a Worker and turns events into debounced rescan hints.
 * Events are hints, never truth: kinds are unreliable and bursts lose events silently
 * (DENO-FACTS §4), so the scan decides, and a periodic full scan backs this up.
 */
export class FolderWatcher {
  /**
   * Resolves once changes are seen (or watching failed, which `onFailure` reports): a Worker
   * takes a while to start (about 0.5 s when started from another Worker), and a change made
   * before then is seen only by a scan that starts after it.
   */
  readonly ready: Promise<void>;
  #worker: Worker;
  #url: string;
  #pending = new Set<string>();
  #all = false;
  #timer?: ReturnType<typeof setTimeout>;
  #options: FolderWatcherOptions;

  constructor(options: FolderWatcherOptions) {
    this.#options = options;
    let ready!: () => void;
    this.ready = new Promise((resolve) => ready = resolve);
    this.#url = URL.createObjectURL(new Blob([WATCH_WORKER_SOURCE], { type: "application/javascript" }));
    this.#worker = new Worker(this.#url, { type: "module", name: options.root });
    this.#worker.onerror = (e) => {
      e.preventDefault();
      ready();
      options.onFailure(e.message);
    };
    this.#worker.onmessage = (
      m: MessageEvent<{ ready?: boolean; paths?: string[]; rescan?: boolean; error?: string }>,
    ) => {
      if (m.data.ready) return ready();
      if (m.data.error !== undefined) {
        ready();
        return options.onFailure(m.data.error);
      }
      if (m.data.rescan) this.#all = true;
      const root = options.root.replace(/\/+$/, "");
      for (const abs of m.data.paths ?? []) {
        // The root itself removed, renamed or replaced: a full scan finds out which.
        if (abs === root) this.#all = true;
        const path = this.#relative(abs);
        if (path !== undefined) this.#pending.add(path);
      }
      this.#schedule();
    };
  }

  /** Stops watching. */
  close(): void {
    clearTimeout(this.#timer);
    this.#worker.terminate();
    URL.revokeObjectURL(this.#url);
  }

  #schedule(): void {
    if (this.#timer !== undefined || (!this.#all && this.#pending.size === 0)) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const hint = { all: this.#all, paths: this.#pending };
      this.#pending = new Set();
      this.#all = false;
      this.#options.onHint(hint);
    }, this.#options.debounceMs ?? 25);
  }

  /** The folder-relative path of an event path, or undefined for the root and fsync's own files. */
  #relative(abs: string): string | undefined {
    const root = this.#options.root.endsWith("/") ? this.#options.root : this.#options.root + "/";
    if (!abs.startsWith(root)) return undefined; // the folder itself, or outside it
    const path = abs.slice(root.length);
    const name = path.slice(path.lastIndexOf("/") + 1);
    return name.startsWith(TEMP_PREFIX) ? undefined : path;
  }
}
