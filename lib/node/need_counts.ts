import { type Decider, needOf, type Needs } from "../plan/mod.ts";
import type { Store } from "../store/mod.ts";

/** A folder's policy as of one generation: the decider is rebuilt per call, the generation is not. */
export interface PolicyVersion {
  readonly decider: Decider;
  /** Changes whenever what the decider decides may change (rules, mode, root). */
  readonly generation: number;
}

/** What a folder needs from one peer: the needed paths with their bytes to fetch. */
interface Tally {
  readonly generation: number;
  /** The needed paths and the bytes each would fetch. */
  readonly needed: Map<string, number>;
  bytes: number;
  /** Paths written since they were last decided (on either side). */
  readonly dirty: Set<string>;
  /** The peer's whole index was replaced: count again. */
  stale: boolean;
}

/**
 * What each folder needs from each peer (`fsync status`), kept up to date as the index
 * changes: counted once per policy generation over the whole index, then only the paths the
 * store says were written since are decided again. An answer costs what changed, not the
 * size of the folder. Memory: one entry per needed path.
 */
export class NeedCounts {
  #store: Store;
  #tallies = new Map<string, Map<string, Tally>>();
  /** Answers one at a time: a count and its updates never interleave. */
  #queue: Promise<unknown> = Promise.resolve();
  #unsubscribe: () => void;

  constructor(store: Store) {
    this.#store = store;
    this.#unsubscribe = store.onIndexChange((folderId, owner, paths) => {
      for (const [peerId, tally] of this.#tallies.get(folderId) ?? []) {
        if (owner !== "local" && owner !== peerId) continue;
        if (paths === undefined) tally.stale = true;
        else for (const path of paths) tally.dirty.add(path);
      }
    });
  }

  /** What pulling everything `peerId` announced of `folderId` would change here, deciding by `policy`. */
  needs(folderId: string, peerId: string, policy: PolicyVersion): Promise<Needs> {
    const answer = this.#queue.then(() => this.#needs(folderId, peerId, policy));
    this.#queue = answer.catch(() => undefined);
    return answer;
  }

  /** Forgets what every folder needs from a peer (it was revoked). */
  forgetPeer(peerId: string): void {
    for (const peers of this.#tallies.values()) peers.delete(peerId);
  }

  /** Stops following the store. */
  close(): void {
    this.#unsubscribe();
    this.#tallies.clear();
  }

  async #needs(folderId: string, peerId: string, policy: PolicyVersion): Promise<Needs> {
    let peers = this.#tallies.get(folderId);
    if (!peers) this.#tallies.set(folderId, peers = new Map());
    let tally = peers.get(peerId);
    if (!tally || tally.stale || tally.generation !== policy.generation) {
      // Registered before counting: what is written meanwhile is marked dirty and decided again after.
      tally = { generation: policy.generation, needed: new Map(), bytes: 0, dirty: new Set(), stale: false };
      peers.set(peerId, tally);
      try {
        for await (const { local, remote } of this.#store.pairWithRemote(folderId, peerId)) {
          this.#record(tally, (local ?? remote)!.path, needOf(policy.decider, local, remote));
        }
      } catch (e) {
        peers.delete(peerId); // counted in part
        throw e;
      }
    }
    if (tally.dirty.size > 0) {
      const paths = [...tally.dirty];
      tally.dirty.clear();
      const [locals, remotes] = await Promise.all([
        this.#store.getLocalMany(folderId, paths),
        this.#store.getRemoteMany(folderId, peerId, paths),
      ]);
      for (const [i, path] of paths.entries()) this.#record(tally, path, needOf(policy.decider, locals[i], remotes[i]));
    }
    return { files: tally.needed.size, bytes: tally.bytes };
  }

  #record(tally: Tally, path: string, need: number | undefined): void {
    tally.bytes -= tally.needed.get(path) ?? 0;
    if (need === undefined) {
      tally.needed.delete(path);
      return;
    }
    tally.needed.set(path, need);
    tally.bytes += need;
  }
}
