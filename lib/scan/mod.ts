/**
 * @module
 * Reading the folder: walking it, noticing what changed since the index, and hashing
 * files into blocks. Yields FileInfos; never writes to the folder or the store.
 */
export * from "./scanner.ts";
export * from "./hash_file.ts";
export * from "./ignore.ts";
