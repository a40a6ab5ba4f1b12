import type { Store } from "../store/mod.ts";
import type { FolderLinks } from "./folder_link.ts";

/** Which peers each folder is shared with: the store's shares, read once per folder and kept in memory. */
export class Shares {
  #store: Store;
  #links: FolderLinks;
  #byFolder = new Map<string, Set<string>>();

  constructor(store: Store, links: FolderLinks) {
    this.#store = store;
    this.#links = links;
  }

  /** Whether `folderId` is shared with `peerId`. */
  async has(folderId: string, peerId: string): Promise<boolean> {
    return (await this.of(folderId)).has(peerId);
  }

  /** The peers `folderId` is shared with. */
  async of(folderId: string): Promise<ReadonlySet<string>> {
    let peers = this.#byFolder.get(folderId);
    if (!peers) this.#byFolder.set(folderId, peers = new Set(await this.#store.sharesOf(folderId)));
    return peers;
  }

  /** Shares a folder with a connected peer, which is then to announce it in its ClusterConfig. */
  async add(folderId: string, peerId: string): Promise<void> {
    const link = this.#links.get(folderId, peerId);
    if (link.session.announced === undefined) link.session.unannounced = true;
    await this.#store.addShare(folderId, peerId);
    if (!(await this.has(folderId, peerId))) this.#byFolder.get(folderId)!.add(peerId);
  }
}
