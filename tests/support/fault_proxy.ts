import * as net from "node:net";

/**
 * What a {@linkcode FaultProxy} does to the traffic, switchable at any time:
 * - `none`: forwards everything.
 * - `cut`: closes every connection now, and each new one at accept.
 * - `stall`: forwards nothing, on open and new connections alike, which stay open (a relay
 *   that stopped forwarding); what was held flows again once the fault is lifted.
 * - `slow`: forwards at most `bytesPerSecond` in each direction, all connections together.
 * - `cutAfter`: closes a connection once it has forwarded `bytes` (both directions).
 */
export type Fault =
  | { readonly kind: "none" }
  | { readonly kind: "cut" }
  | { readonly kind: "stall" }
  | { readonly kind: "slow"; readonly bytesPerSecond: number }
  | { readonly kind: "cutAfter"; readonly bytes: number };

/** One direction of a proxied connection. */
interface Pipe {
  readonly from: net.Socket;
  readonly to: net.Socket;
  /** Chunks read and not yet forwarded (held by a stall or a rate). */
  readonly held: Uint8Array[];
}

/** Both directions of a proxied connection, and what it forwarded. */
interface Link {
  readonly pipes: readonly [Pipe, Pipe];
  forwarded: number;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `127.0.0.1:target` that injects faults, for tests of
 * broken links between real fsync processes. Counts the connections it accepted.
 */
export class FaultProxy implements AsyncDisposable {
  readonly port: number;
  #server: net.Server;
  #links = new Set<Link>();
  #fault: Fault = { kind: "none" };
  /** For `slow`: when the budget of the current second started, and what is left of it, per direction. */
  #window = { startMs: 0, left: [0, 0] };
  #timer?: ReturnType<typeof setTimeout>;
  #accepted = 0;
  #forwarded = [0, 0];

  private constructor(server: net.Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  /** Starts a proxy to `127.0.0.1:target` on a free port. */
  static async start(target: number): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const proxy = new FaultProxy(server, (server.address() as net.AddressInfo).port);
    server.on("connection", (socket: net.Socket) => proxy.#accept(socket, target));
    return proxy;
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Bytes forwarded so far over every connection: to the target, and back from it. */
  get forwarded(): { readonly toTarget: number; readonly fromTarget: number } {
    return { toTarget: this.#forwarded[0], fromTarget: this.#forwarded[1] };
  }

  /** Switches to `fault` (see {@linkcode Fault}). */
  set(fault: Fault): void {
    this.#fault = fault;
    this.#window = { startMs: 0, left: [0, 0] };
    if (fault.kind === "cut") {
      for (const link of this.#links) this.#close(link);
    }
    this.#pump();
  }

  #accept(client: net.Socket, target: number): void {
    this.#accepted++;
    client.on("error", () => {});
    if (this.#fault.kind === "cut") return void client.destroy();
    const upstream = net.connect({ host: "127.0.0.1", port: target });
    upstream.on("error", () => {});
    const link: Link = {
      pipes: [{ from: client, to: upstream, held: [] }, { from: upstream, to: client, held: [] }],
      forwarded: 0,
    };
    this.#links.add(link);
    for (const pipe of link.pipes) {
      pipe.from.on("data", (chunk: Uint8Array) => {
        pipe.held.push(chunk);
        // Reading stops while anything is held: the sender's TCP window fills, as behind a stalled relay.
        pipe.from.pause();
        this.#pump();
      });
      pipe.from.on("close", () => this.#close(link));
    }
  }

  /** Forwards what the fault allows of every held chunk; called on data and on timers. */
  #pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const fault = this.#fault;
    if (fault.kind === "stall") return;
    for (const link of this.#links) {
      link.pipes.forEach((pipe, direction) => {
        if (!this.#links.has(link)) return; // cut after the other direction's bytes
        while (pipe.held.length > 0) {
          let chunk = pipe.held[0];
          if (fault.kind === "slow") {
            const allowed = this.#allowance(direction, fault.bytesPerSecond);
            if (allowed === 0) return;
            if (chunk.length > allowed) {
              pipe.held[0] = chunk.subarray(allowed);
              chunk = chunk.subarray(0, allowed);
            } else pipe.held.shift();
            this.#window.left[direction] -= chunk.length;
          } else pipe.held.shift();
          pipe.to.write(chunk);
          link.forwarded += chunk.length;
          this.#forwarded[direction] += chunk.length;
          if (fault.kind === "cutAfter" && link.forwarded >= fault.bytes) return this.#close(link);
        }
        if (!pipe.from.destroyed) pipe.from.resume();
      });
    }
    const waiting = [...this.#links].some((l) => l.pipes.some((p) => p.held.length > 0));
    if (waiting && fault.kind === "slow") this.#timer = setTimeout(() => this.#pump(), 20);
  }

  /** Bytes direction `direction` may still forward in the current second at `rate`. */
  #allowance(direction: number, rate: number): number {
    const now = Date.now();
    if (now - this.#window.startMs >= 1000) {
      this.#window = { startMs: now, left: [rate, rate] };
    }
    // Spread over the second: at most a fiftieth of the rate per 20 ms tick beyond what has passed.
    const elapsed = now - this.#window.startMs;
    const due = Math.ceil(rate * Math.min(1, (elapsed + 20) / 1000)) - (rate - this.#window.left[direction]);
    return Math.max(0, Math.min(due, this.#window.left[direction]));
  }

  #close(link: Link): void {
    if (!this.#links.delete(link)) return;
    for (const pipe of link.pipes) pipe.from.destroy();
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    for (const link of this.#links) this.#close(link);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
