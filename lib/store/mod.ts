/**
 * @module
 * Deno KV persistence of a device's metadata (folders, peers, local and remote indexes),
 * the home directory's layout, privacy (owner only) and process lock. Hands out model types only; knows nothing of
 * scanning, networking or pulling.
 */
export * from "./records.ts";
export type { LocalSummary } from "./_local_summary.ts";
export * from "./store.ts";
export * from "./home.ts";
export * from "./home_folders.ts";
export * from "./home_lock.ts";
