import { Buffer } from "node:buffer";
import type { DataChannel } from "./data_path.ts";
import { PeerUnreachableError } from "./errors.ts";
import { DATA_TICKET_BYTES } from "./messages.ts";

/** How long an offered ticket waits for its data connection. */
const DATA_TICKET_TTL_MS = 30_000;

/** A ticket offered to a peer, the data channel it will bring, and how to void it. */
export interface DataOffer {
  readonly ticket: Uint8Array;
  readonly channel: Promise<DataChannel>;
  /** Voids the ticket if it is still unused (its session ended). */
  withdraw(): void;
}

/**
 * The tickets a listener offered and not yet redeemed, each for one session (its owner key).
 * A ticket is redeemed once; it is void after DATA_TICKET_TTL_MS, when its session withdraws
 * it, or when its owner's connection closes.
 */
export class DataTickets {
  #waiting = new Map<string, { owner: string; settle: (channel: DataChannel | Error) => void }>();

  /** A fresh ticket for the session `owner`, and the channel its data connection will bring. */
  issue(owner: string): DataOffer {
    const ticket = crypto.getRandomValues(new Uint8Array(DATA_TICKET_BYTES));
    const key = Buffer.from(ticket).toString("hex");
    let settle!: (outcome: DataChannel | Error) => void;
    const channel = new Promise<DataChannel>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new PeerUnreachableError(`no data connection within ${DATA_TICKET_TTL_MS / 1000} s`)),
        DATA_TICKET_TTL_MS,
      );
      settle = (outcome) => {
        clearTimeout(timer);
        this.#waiting.delete(key);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      this.#waiting.set(key, { owner, settle });
    });
    channel.catch(() => {}); // an unused offer is no failure
    const withdraw = () => {
      if (this.#waiting.has(key)) settle(new PeerUnreachableError("the session ended"));
    };
    return { ticket, channel, withdraw };
  }

  /** Takes the ticket's waiter off the list; undefined for a ticket never issued, used, or void. */
  redeem(ticket: Uint8Array): ((channel: DataChannel) => void) | undefined {
    const key = Buffer.from(ticket).toString("hex");
    const waiter = this.#waiting.get(key);
    if (!waiter) return undefined;
    this.#waiting.delete(key);
    return (channel) => waiter.settle(channel);
  }

  /** The connection `owner` closed: its tickets are void. */
  revoke(owner: string): void {
    for (const waiter of [...this.#waiting.values()]) {
      if (waiter.owner === owner) waiter.settle(new PeerUnreachableError("the session ended"));
    }
  }
}
