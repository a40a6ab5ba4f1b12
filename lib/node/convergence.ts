import type { Store } from "../store/mod.ts";
import type { FolderLinks } from "./folder_link.ts";
import type { FolderRunner } from "./folder_runner.ts";
import type { Shares } from "./shares.ts";

/** What the convergence check reads of its device. */
export interface ConvergenceView {
  readonly store: Store;
  readonly runners: ReadonlyMap<string, FolderRunner>;
  readonly links: FolderLinks;
  readonly shares: Shares;
  /** The folders offered to every device that connects. */
  readonly offered: ReadonlySet<string>;
}

/**
 * Whether this device and a connected peer hold the same versions of every folder they
 * share: each has pulled all of the other's index (this device is in sync with the peer,
 * and the peer said it applied this device's index up to its current sequence), and the
 * peer answered every offer made to it. False while nothing is shared or declined yet.
 */
export async function convergedWith(view: ConvergenceView, peerId: string): Promise<boolean> {
  if (await offersPending(view, peerId)) return false;
  let shared = 0;
  for (const runner of view.runners.values()) {
    const link = view.links.find(runner.folder.id, peerId);
    if (link?.session.announced === undefined) continue; // not shared, or not announced by the peer
    shared++;
    const { inSync, peerPulled: told, indexSent: index } = link.session;
    if (!inSync) return false;
    if (told?.indexId !== runner.folder.indexId || !index) return false;
    if (index.read < await view.store.localSequence(runner.folder.id) || told.sequence < index.sent) return false;
  }
  return shared > 0 || view.links.ofPeer(peerId).some((l) => l.session.declined);
}

/** Whether the peer has yet to answer an offer, or to announce a folder shared in this session. */
async function offersPending(view: ConvergenceView, peerId: string): Promise<boolean> {
  const invitedTo = (await view.store.getPeer(peerId))?.invitedTo ?? [];
  for (const folderId of view.offered) {
    if (!invitedTo.includes(folderId) || view.links.find(folderId, peerId)?.session.declined) continue;
    if (!(await view.shares.has(folderId, peerId))) return true;
  }
  return view.links.ofPeer(peerId).some((l) => l.session.unannounced);
}
