/**
 * @module
 * Deno KV persistence of a device's metadata (folders, peers, local and remote indexes)
 * and the home directory's process lock. Hands out model types only; knows nothing of
 * scanning, networking or pulling.
 */
export * from "./store.ts";
export * from "./home_lock.ts";
