import type { PulledMark, Store } from "../store/mod.ts";
import { equalBytes } from "../model/mod.ts";
import { type PeerSession, PeerUnreachableError } from "../net/mod.ts";
import type { RateLimiter } from "../transfer/mod.ts";
import type { DeviceEvent } from "./events.ts";
import type { FolderLink, FolderLinks, PullState } from "./folder_link.ts";
import type { FolderRunner } from "./folder_runner.ts";
import type { Logger } from "./logger.ts";
import { SwarmSource } from "./swarm_source.ts";

/** First and longest wait before a failed pull is retried. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** What the pull scheduler uses of its device. */
export interface PullSchedulerContext {
  readonly links: FolderLinks;
  readonly store: Store;
  readonly logger: Logger;
  /** The peer's open session, if any. */
  session(peerId: string): PeerSession | undefined;
  /** The connected peers the folder is shared with. */
  sharingPeers(folderId: string): Promise<string[]>;
  runner(folderId: string): FolderRunner | undefined;
  /** Scans these paths of the folder (found changed locally while pulling). */
  rescan(runner: FolderRunner, paths: readonly string[]): Promise<void>;
  emit(event: DeviceEvent): void;
  /** Owns a background task (awaited at close, its failure logged). */
  track<T>(task: Promise<T>): Promise<T>;
  closed(): boolean;
  /** Bounds block data received from all peers together. */
  readonly recvLimit?: RateLimiter;
}

/**
 * Runs the pulls of every folder from every peer: one loop per pair at a time, a pass again
 * when more arrived meanwhile, retries with backoff after problems, the peer told how far
 * this device applied its index (Pulled), and an in-sync event once it holds everything the
 * peer announced.
 */
export class PullScheduler {
  #ctx: PullSchedulerContext;
  /** Per folder, the peers whose blocks did not match: not asked for that folder's blocks on others' behalf. */
  #excluded = new Map<string, Set<string>>();

  constructor(ctx: PullSchedulerContext) {
    this.#ctx = ctx;
  }

  /** Pulls the folder from the peer now, or once the pass under way ends. */
  schedule(pair: { folderId: string; peerId: string }): void {
    const link = this.#ctx.links.get(pair.folderId, pair.peerId);
    const state = link.pull ??= { running: false, again: false, retryMs: RETRY_MIN_MS };
    if (state.running) {
      state.again = true;
      return;
    }
    clearTimeout(state.timer);
    state.running = true;
    this.#ctx.track(this.#loop(link, state));
  }

  async #loop(link: FolderLink, state: PullState): Promise<void> {
    const { folderId, peerId } = link;
    try {
      while (!this.#ctx.closed()) {
        state.again = false;
        const session = this.#ctx.session(peerId);
        const runner = this.#ctx.runner(folderId);
        if (!session || !runner) return;
        // How much of the peer's index this pass is sure to see: files and this state commit
        // together, and the pass lists the index after this read. "In sync" is judged on it,
        // never on a state read after the pass (a batch committed meanwhile was not pulled).
        const { indexId, sequence: seenBefore } = await this.#ctx.store.remoteState(folderId, peerId);
        // Only what came after the last clean pass, in this session or an earlier one (the
        // store keeps it); the whole index after a problem or a reset of the peer's index.
        const pulled = state.pulled ??= await this.#ctx.store.getPulled(folderId, peerId);
        const policy = runner.policyKey;
        const after = pulled?.indexId === indexId && pulled.sequence <= seenBefore ? pulled : undefined;
        let excluded = this.#excluded.get(folderId);
        if (!excluded) this.#excluded.set(folderId, excluded = new Set());
        const { store } = this.#ctx;
        const source = new SwarmSource({
          folderId,
          primary: peerId,
          logger: this.#ctx.logger,
          excluded,
          session: (id) => this.#ctx.session(id),
          otherPeers: async () => (await this.#ctx.sharingPeers(folderId)).filter((id) => id !== peerId),
          holds: async (id, file) => {
            const [held] = await store.getRemoteMany(folderId, id, [file.path]);
            return held !== undefined && !held.deleted && equalBytes(held.contentHash, file.contentHash);
          },
          fetch: async (from, want) => {
            await this.#ctx.recvLimit?.take(want.size);
            return await from.fetchBlock(folderId, want);
          },
        });
        const result = await runner.pullFrom(peerId, source, after);
        const t = link.totals;
        link.totals = {
          files: t.files + result.written,
          bytesFetched: t.bytesFetched + result.bytesFetched,
          bytesReused: t.bytesReused + result.bytesReused,
        };
        if (result.changedLocally.length > 0) await this.#ctx.rescan(runner, result.changedLocally);
        if (result.actions > 0 || result.problems.length > 0) link.session.inSync = false;
        const clean = result.problems.length === 0 ? { indexId, sequence: seenBefore, policy } : undefined;
        if (!samePulled(clean, state.pulled)) await this.#ctx.store.setPulled(folderId, peerId, clean);
        state.pulled = clean;
        if (clean && (state.told?.session !== session || state.told.sequence < seenBefore)) {
          state.told = { session, sequence: seenBefore };
          await session.send({ type: "pulled", folderId, indexId, sequence: seenBefore }).catch((e) => {
            if (!(e instanceof PeerUnreachableError)) throw e;
          });
        }
        if (result.problems.length > 0) {
          // The runner has logged each problem once; this retries them with backoff.
          this.#ctx.emit({ type: "pull-problems", folderId, problems: result.problems });
          // A session that ended failed the pass; a newer one with the peer (it asked for a pass
          // meanwhile: `again`) pulls now, or nothing would until the peer's index changes.
          if (session.closed) {
            if (state.again) continue;
            return;
          }
          state.timer = setTimeout(() => this.schedule(link), state.retryMs);
          state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
          return;
        }
        state.retryMs = RETRY_MIN_MS;
        if (result.actions > 0 || state.again) continue;
        const { announced } = link.session;
        if (announced !== undefined && seenBefore >= announced && !link.session.inSync) {
          link.session.inSync = true;
          this.#ctx.emit({ type: "in-sync", folderId, peerId, totals: link.totals });
        }
        return;
      }
    } finally {
      state.running = false;
    }
  }

  /** Cancels the retries waiting. */
  close(): void {
    for (const link of this.#ctx.links.all()) clearTimeout(link.pull?.timer);
  }
}

function samePulled(a: PulledMark | undefined, b: PulledMark | undefined): boolean {
  return a?.indexId === b?.indexId && a?.sequence === b?.sequence && a?.policy === b?.policy;
}
