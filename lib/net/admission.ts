/**
 * Which connections a listener keeps: the accounting behind the connection limits, without
 * IO, so that it can be tested on tables of arrivals. A connection is unauthenticated from
 * TCP accept until its peer proved a trusted identity; then it is authenticated.
 */

/** How many connections a listener keeps. */
export interface AdmissionLimits {
  /** Unauthenticated connections in all. */
  readonly unauthenticated: number;
  /** Authenticated connections in all. */
  readonly authenticated: number;
}

interface Entry {
  readonly source: string;
  /** When it last moved a step closer to authentication (accepted, TLS done, Session opened). */
  progressMs: number;
}

/**
 * The accounting of a listener's connections, keyed by `K`. A newcomer is never refused:
 * when the cap on unauthenticated connections is reached, the one that made no progress for
 * the longest is evicted from the sources (an IPv4 address, an IPv6 /64) holding the most of
 * them. So a flood from one source evicts its own connections first (that share is its
 * cap: a lower cap per source would protect no other source, and would only shorten the
 * life of a handshake that shares the flood's address), and a peer whose handshake advances
 * outlives connections that stall. Authenticated connections are counted apart, so
 * strangers never take their places.
 *
 * Invariant: each key is in at most one of `#unauthenticated` (by source) and `#authenticated`.
 */
export class Admission<K> {
  readonly #limits: AdmissionLimits;
  readonly #unauthenticated = new Map<string, Map<K, Entry>>();
  readonly #sourceOf = new Map<K, string>();
  readonly #authenticated = new Set<K>();

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Unauthenticated and authenticated connections held now. */
  get counts(): { unauthenticated: number; authenticated: number } {
    return { unauthenticated: this.#sourceOf.size, authenticated: this.#authenticated.size };
  }

  /** Whether `key` is held and authenticated. */
  isAuthenticated(key: K): boolean {
    return this.#authenticated.has(key);
  }

  /** Every unauthenticated connection, oldest first within each source. */
  unauthenticated(): K[] {
    return [...this.#unauthenticated.values()].flatMap((entries) => [...entries.keys()]);
  }

  /**
   * Takes a new unauthenticated connection from `source` (see {@linkcode sourceOf}) and
   * returns the connections to close to make room for it, with the source of each.
   */
  accept(key: K, source: string, nowMs: number): { key: K; source: string }[] {
    const evicted: { key: K; source: string }[] = [];
    while (this.#sourceOf.size >= this.#limits.unauthenticated) {
      const victim = this.#victim();
      evicted.push({ key: victim, source: this.#sourceOf.get(victim)! });
      this.release(victim);
    }
    let entries = this.#unauthenticated.get(source);
    if (!entries) this.#unauthenticated.set(source, entries = new Map());
    entries.set(key, { source, progressMs: nowMs });
    this.#sourceOf.set(key, source);
    return evicted;
  }

  /** Notes that an unauthenticated connection moved a step closer to authentication. */
  progress(key: K, nowMs: number): void {
    const source = this.#sourceOf.get(key);
    const entry = source === undefined ? undefined : this.#unauthenticated.get(source)?.get(key);
    if (entry) entry.progressMs = nowMs;
  }

  /**
   * Moves a connection whose peer proved a trusted identity to the authenticated ones.
   * Returns false, and forgets the key, when the authenticated cap is reached: close it.
   */
  authenticate(key: K): boolean {
    if (this.#authenticated.has(key)) return true;
    if (!this.#sourceOf.has(key)) return false; // already closed
    this.release(key);
    if (this.#authenticated.size >= this.#limits.authenticated) return false;
    this.#authenticated.add(key);
    return true;
  }

  /** Forgets a closed connection. */
  release(key: K): void {
    this.#authenticated.delete(key);
    const source = this.#sourceOf.get(key);
    if (source === undefined) return;
    this.#sourceOf.delete(key);
    const entries = this.#unauthenticated.get(source)!;
    entries.delete(key);
    if (entries.size === 0) this.#unauthenticated.delete(source);
  }

  /**
   * The connection to evict: of the sources with the most unauthenticated connections, the
   * one without progress for the longest (the oldest among equals).
   */
  #victim(): K {
    const most = Math.max(...[...this.#unauthenticated.values()].map((entries) => entries.size));
    let victim: [K, Entry] | undefined;
    for (const entries of this.#unauthenticated.values()) {
      if (entries.size < most) continue;
      for (const item of entries) {
        if (!victim || item[1].progressMs < victim[1].progressMs) victim = item;
      }
    }
    return victim![0];
  }
}

/**
 * The source a remote address counts against: an IPv4 address (also when IPv4-mapped), or
 * the /64 prefix of an IPv6 address, since one host commonly holds a whole /64.
 */
export function sourceOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!address.includes(":")) return address;
  const [head, tail = ""] = address.toLowerCase().split("%")[0].split("::");
  const left = head === "" ? [] : head.split(":");
  const right = address.includes("::") && tail !== "" ? tail.split(":") : [];
  const groups = address.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":") + "::/64";
}
