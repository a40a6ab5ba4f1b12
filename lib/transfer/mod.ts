/**
 * @module
 * The puller: carries out the planner's decisions on disk. Reuses local blocks, fetches the
 * rest through a {@linkcode BlockSource}, verifies every block, writes through fsynced
 * temporary files and renames into place. Never decides what to pull.
 */
export * from "./puller.ts";
export type { BlockSource, ByteBudget } from "./block_gather.ts";
export * from "./errors.ts";
export * from "./case_check.ts";
export * from "./rate_limiter.ts";
export * from "./temp_ledger.ts";
