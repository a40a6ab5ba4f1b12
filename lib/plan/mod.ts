/**
 * @module
 * Pure sync decisions over plain data: who wins a conflict and what a device does about a
 * peer's version of a path. No IO, no clocks, no Deno APIs.
 */
export * from "./pick_winner.ts";
export * from "./decide.ts";
export * from "./deletion_guard.ts";
export * from "./deletion_grace.ts";
export * from "./pass_order.ts";
export * from "./conflict_copy.ts";
export * from "./folder_policy.ts";
export * from "./introductions.ts";
