import { utf8Length } from "../model/mod.ts";

/**
 * Flush thresholds below Deno KV's per-commit limits: 1000 mutations and 800 KiB of
 * mutations (DENO-FACTS §3), and 81,920 bytes of keys (measured: "Total key size too large").
 */
const MAX_MUTATIONS = 900;
const MAX_BYTES = 600_000;
const MAX_KEY_BYTES = 64_000;
/** Encoded size of a KV key, slightly over-estimated. */
export function keyBytes(key: Deno.KvKey): number {
  let n = 0;
  for (const part of key) n += typeof part === "string" ? utf8Length(part) + 2 : 10;
  return n;
}

/** One key's new value, or null to delete it. */
export interface Mutation {
  readonly key: Deno.KvKey;
  readonly value: unknown;
  /** Rough encoded size of key and value, to stay under the commit size limit. */
  readonly bytes: number;
}

/** A write of `value` at `key`, weighing about `bytes` in a batch. */
export function put(key: Deno.KvKey, value: unknown, bytes: number): Mutation {
  return { key, value, bytes: bytes + 64 };
}

/** A deletion of `key`. */
export function del(key: Deno.KvKey): Mutation {
  return { key, value: null, bytes: 64 };
}

/**
 * Groups mutations into as few atomic commits as KV's limits allow. A group passed to
 * {@linkcode KvBatch.add} always lands in a single commit, so one entry is never half written.
 */
export class KvBatch {
  #kv: Deno.Kv;
  #pending: Mutation[] = [];
  #bytes = 0;
  #keyBytes = 0;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Adds a group of mutations that must commit together. */
  async add(group: readonly Mutation[]): Promise<void> {
    const bytes = group.reduce((n, m) => n + m.bytes, 0);
    const keys = group.reduce((n, m) => n + keyBytes(m.key), 0);
    if (
      this.#pending.length + group.length > MAX_MUTATIONS || this.#bytes + bytes > MAX_BYTES ||
      this.#keyBytes + keys > MAX_KEY_BYTES
    ) await this.flush();
    this.#pending.push(...group);
    this.#bytes += bytes;
    this.#keyBytes += keys;
  }

  /** Commits what is pending. */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const op = this.#kv.atomic();
    for (const m of this.#pending) m.value === null ? op.delete(m.key) : op.set(m.key, m.value);
    this.#pending = [];
    this.#bytes = 0;
    this.#keyBytes = 0;
    const result = await op.commit();
    if (!result.ok) throw new Error("KV commit failed without a check");
  }
}
