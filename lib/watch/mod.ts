/**
 * @module
 * Deno.watchFs in a Worker, turned into debounced rescan hints. Never reads or writes the
 * folder and decides nothing: the scanner decides what changed.
 */
export * from "./folder_watcher.ts";
