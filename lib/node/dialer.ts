import { formatDeviceId, formatHostPort, type HostPort } from "../model/mod.ts";
import type { Device } from "./device.ts";
import type { Logger } from "./logger.ts";
import { type DialTarget, keepConnected } from "./reconnect.ts";

/** How often the store is looked at again for peers to dial (besides introductions and learnt addresses). */
const REFRESH_MS = 60_000;

/**
 * Keeps a session with every trusted peer whose address the device knows, and with the
 * configured peers: one reconnecting loop per peer (see `keepConnected`). Peers introduced,
 * or whose address is learnt, while it runs are dialled too; a loop ends when its peer is
 * revoked. `failed` rejects when a loop fails with an unexpected error.
 */
export class Dialer {
  /** Rejects with the first unexpected error of a loop; never resolves. */
  readonly failed: Promise<never>;
  #device: Device;
  #logger: Logger;
  #configured: readonly { readonly address: HostPort; readonly deviceId?: string }[] = [];
  #stop = new AbortController();
  /** Running loops, by the peer's device ID, or by address for a configured peer without one. */
  #loops = new Map<string, Promise<void>>();
  #fail!: (e: unknown) => void;
  #timer: ReturnType<typeof setInterval>;
  #unsubscribe: () => void;

  constructor(device: Device, logger: Logger) {
    this.#device = device;
    this.#logger = logger;
    this.failed = new Promise<never>((_, reject) => this.#fail = reject);
    this.failed.catch(() => {}); // observed by whoever awaits it
    this.#unsubscribe = device.on((e) => {
      if (e.type === "peer-introduced" || e.type === "peer-address") this.#refreshLater();
    });
    this.#timer = setInterval(() => this.#refreshLater(), REFRESH_MS);
  }

  /** How many peers are dialled. */
  get size(): number {
    return this.#loops.size;
  }

  /** Dials `target` (unless a loop has it), starting from `firstSession` when one is open already. */
  add(target: DialTarget, firstSession?: Promise<void>): void {
    const key = target.pin?.deviceId ? formatDeviceId(target.pin.deviceId) : formatHostPort(target.address);
    if (this.#loops.has(key) || this.#stop.signal.aborted) return;
    const loop = keepConnected(this.#device, target.address, target.pin, this.#logger, this.#stop.signal, firstSession)
      .catch((e) => this.#fail(e))
      .finally(() => this.#loops.delete(key));
    this.#loops.set(key, loop);
  }

  /** Dials the peers the store and `configured` (kept for later refreshes) name, that no loop has yet. */
  async refresh(configured?: readonly { readonly address: HostPort; readonly deviceId?: string }[]): Promise<void> {
    if (configured) this.#configured = configured;
    if (this.#stop.signal.aborted) return;
    for (const target of await this.#device.dialTargets(this.#configured)) this.add(target);
  }

  #refreshLater(): void {
    this.refresh().catch((e) => {
      if (!this.#stop.signal.aborted) this.#fail(e);
    });
  }

  /** Stops every loop; resolves once they ended (a loop in a connect ends when the device closes). */
  async close(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#timer);
    this.#unsubscribe();
    await Promise.all(this.#loops.values());
  }
}
