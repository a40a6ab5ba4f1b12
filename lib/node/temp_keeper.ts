import { join } from "node:path";
import { type FileSystem, tryRemove } from "../fs/mod.ts";
import type { FileInfo } from "../model/mod.ts";
import type { FolderRecord, Store } from "../store/mod.ts";
import { TempLedger, tempPathFor } from "../transfer/mod.ts";
import type { Decider } from "../plan/mod.ts";

/**
 * A folder's temporary files between pulls: the ledger its pulls keep them in, and the sorting
 * of what scans find and passes leave. A temporary file stays only while a pending pull of
 * its version (from any peer) may resume from it; any other is removed. Runs only while no
 * pull of the folder does (the runner's mutex).
 */
export class TempKeeper {
  /** The temporary files unfinished pulls left, by the path each builds. */
  readonly ledger: TempLedger;
  #store: Store;
  #folder: () => FolderRecord;
  #decider: () => Decider;
  #fs: FileSystem;

  constructor(store: Store, fs: FileSystem, folder: () => FolderRecord, decider: () => Decider) {
    this.ledger = new TempLedger(fs);
    this.#store = store;
    this.#fs = fs;
    this.#folder = folder;
    this.#decider = decider;
  }

  /**
   * Sorts the temporary files a scan met (folder-relative): those in the ledger are tidied,
   * others (left by an earlier run) join the ledger when a pending pull needs their version,
   * and the rest are removed.
   */
  async sweep(found: readonly string[]): Promise<void> {
    const root = this.#folder().path;
    const kept = new Set(this.ledger.entries().map(([, temp]) => temp));
    const unknown = found.map((path) => join(root, path)).filter((temp) => !kept.has(temp));
    if (unknown.length > 0) {
      const needed = await this.#needed();
      for (const temp of unknown) {
        const path = needed.get(temp);
        if (path === undefined) tryRemove(this.#fs, temp); // one that cannot go is tried at the next scan
        else this.ledger.keep(path, temp);
      }
    }
    await this.tidy();
  }

  /** Removes the kept temporary files no pending pull needs any more (superseded, deleted, won locally). */
  async tidy(): Promise<void> {
    if (this.ledger.size === 0) return;
    const entries = this.ledger.entries();
    const needed = await this.#needed(entries.map(([path]) => path));
    for (const [path, temp] of entries) if (!needed.has(temp)) this.ledger.discard(path);
  }

  /**
   * The temporary files (absolute, with the path each builds) of the versions the folder
   * would fetch from some peer now, among `paths` (default: every path peers hold).
   */
  async #needed(paths?: readonly string[]): Promise<Map<string, string>> {
    const { id, path: root } = this.#folder();
    const needed = new Map<string, string>();
    const decider = this.#decider();
    for (const peerId of await this.#store.sharesOf(id)) {
      const pairs = paths ? this.#pairsOf(id, peerId, paths) : this.#store.pairWithRemote(id, peerId);
      for await (const { local, remote } of pairs) {
        const decision = remote && decider(local, remote);
        if (decision?.action !== "fetch" || decision.file.type !== "file") continue;
        needed.set(tempPathFor(join(root, decision.file.path), decision.file), decision.file.path);
      }
    }
    return needed;
  }

  /** The local and the peer's entries of `paths`. */
  async *#pairsOf(
    folderId: string,
    peerId: string,
    paths: readonly string[],
  ): AsyncGenerator<{ local?: FileInfo; remote?: FileInfo }> {
    const locals = await this.#store.getLocalMany(folderId, paths);
    const remotes = await this.#store.getRemoteMany(folderId, peerId, paths);
    for (const [i, local] of locals.entries()) yield { local, remote: remotes[i] };
  }
}
