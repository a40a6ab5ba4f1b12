import type { BlockWant, FileInfo } from "../model/mod.ts";
import { BlockUnavailableError, type PeerSession, PeerUnreachableError } from "../net/mod.ts";
import type { BlockSource } from "../transfer/mod.ts";
import type { Logger } from "./logger.ts";

/**
 * Files up to one request's worth of blocks (1 MiB, one span) come from the peer whose index is
 * pulled alone: a single request cannot be spread, and the lookup of holders would cost more.
 */
export const SWARM_MIN_BYTES = (1 << 20) + 1;

/** What a swarm source uses of its device. */
export interface SwarmContext {
  readonly folderId: string;
  /** The peer whose index is pulled: asked first for every file, and alone for small ones. */
  readonly primary: string;
  readonly logger: Logger;
  /** The open session with a peer, if any. */
  session(peerId: string): PeerSession | undefined;
  /** The connected peers (other than the primary) the folder is shared with. */
  otherPeers(): Promise<string[]>;
  /** Peers that served data not matching its hashes: never asked for this folder's blocks again. */
  readonly excluded: Set<string>;
  /** Whether the peer's index holds this content at this path (the same content hash, not deleted). */
  holds(peerId: string, file: FileInfo): Promise<boolean>;
  /** Asks the peer's session for a range (through the device's receive limit). */
  fetch(session: PeerSession, want: BlockWant): Promise<Uint8Array>;
}

/**
 * The blocks of a pull from one peer, fetched from every connected peer that holds the same
 * content: each request goes to the holder with the fewest requests under way, and a holder
 * that fails (gone, or it no longer has the file) is dropped for that file and its request
 * asked of another, so a file completes as long as one holder stays. A peer whose data did not
 * match is excluded from the folder's swarms for good.
 */
export class SwarmSource implements BlockSource {
  #ctx: SwarmContext;

  constructor(ctx: SwarmContext) {
    this.#ctx = ctx;
  }

  /** A range from the primary alone (what `forFile` does not spread). */
  fetchBlock(want: BlockWant): Promise<Uint8Array> {
    const session = this.#ctx.session(this.#ctx.primary);
    if (!session) return Promise.reject(new PeerUnreachableError(`${this.#ctx.primary} is no longer connected`));
    return this.#ctx.fetch(session, want);
  }

  /**
   * The source of one file: for one of several requests, spread over its holders, who are looked for again
   * every second while it is fetched (a peer may connect, or receive the file, meanwhile).
   */
  forFile(file: FileInfo): Promise<BlockSource> {
    return Promise.resolve(file.size < SWARM_MIN_BYTES ? this : new FileSwarm(this.#ctx, file, [this.#ctx.primary]));
  }
}

/** How often a file's swarm looks for holders that connected (or announced the file) since. */
const HOLDERS_REFRESH_MS = 1_000;

/** One file's holders and the requests under way with each. */
class FileSwarm implements BlockSource {
  #ctx: SwarmContext;
  #file: FileInfo;
  #inFlight: Map<string, number>;
  /** Holders dropped for this file: not taken back by a refresh. */
  #dropped = new Set<string>();
  #refreshAtMs = 0;
  /** Who served each range (by offset), to drop one whose data did not match. */
  #servedBy = new Map<number, string>();

  constructor(ctx: SwarmContext, file: FileInfo, holders: string[]) {
    this.#ctx = ctx;
    this.#file = file;
    this.#inFlight = new Map(holders.map((h) => [h, 0]));
  }

  async fetchBlock(want: BlockWant): Promise<Uint8Array> {
    if (Date.now() >= this.#refreshAtMs) await this.#refresh();
    let lastError: Error | undefined;
    let refreshed = false;
    while (true) {
      const holder = this.#pick();
      if (!holder && !refreshed) {
        // Every holder known failed: one that connected since the last look may still serve it.
        refreshed = true;
        await this.#refresh();
        continue;
      }
      if (!holder) throw lastError ?? new PeerUnreachableError(`no peer holding ${this.#file.path} is connected`);
      const session = this.#ctx.session(holder);
      if (!session) {
        this.#drop(holder, "disconnected");
        continue;
      }
      this.#inFlight.set(holder, this.#inFlight.get(holder)! + 1);
      try {
        const data = await this.#ctx.fetch(session, want);
        this.#servedBy.set(want.offset, holder);
        return data;
      } catch (e) {
        if (!(e instanceof PeerUnreachableError || e instanceof BlockUnavailableError)) throw e;
        lastError = e;
        this.#drop(holder, e.message);
      } finally {
        if (this.#inFlight.has(holder)) this.#inFlight.set(holder, this.#inFlight.get(holder)! - 1);
      }
    }
  }

  rejected(want: BlockWant): void {
    const holder = this.#servedBy.get(want.offset);
    if (!holder || holder === this.#ctx.primary) return; // the pull from the primary fails, as without others
    this.#ctx.excluded.add(holder);
    this.#drop(holder, "its data did not match the file's hashes");
    this.#ctx.logger.warn(`${holder} served blocks of ${this.#file.path} that do not match: no longer asked for any`, {
      folder: this.#ctx.folderId,
    });
  }

  /** Adds the peers that hold the file now and were neither dropped nor excluded. */
  async #refresh(): Promise<void> {
    this.#refreshAtMs = Date.now() + HOLDERS_REFRESH_MS;
    for (const peerId of await this.#ctx.otherPeers()) {
      if (this.#inFlight.has(peerId) || this.#dropped.has(peerId) || this.#ctx.excluded.has(peerId)) continue;
      if (await this.#ctx.holds(peerId, this.#file)) this.#inFlight.set(peerId, 0);
    }
  }

  /** The holder with the fewest requests under way (the first listed, the primary, on a tie). */
  #pick(): string | undefined {
    let best: string | undefined;
    for (const [holder, n] of this.#inFlight) if (best === undefined || n < this.#inFlight.get(best)!) best = holder;
    return best;
  }

  #drop(holder: string, why: string): void {
    this.#dropped.add(holder);
    if (!this.#inFlight.delete(holder)) return;
    this.#ctx.logger.debug(`${this.#file.path}: no more blocks asked of ${holder}: ${why}`, {
      folder: this.#ctx.folderId,
    });
  }
}
