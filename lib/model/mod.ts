/**
 * @module
 * fsync's plain types and pure functions: FileInfo, version vectors, paths, device IDs,
 * addresses, the invite format, log levels and the error classes. It performs no IO and
 * imports nothing outside this folder.
 */
export * from "./errors.ts";
export * from "./version_vector.ts";
export * from "./file_info.ts";
export * from "./paths.ts";
export * from "./device_id.ts";
export * from "./conflict_name.ts";
export * from "./hash.ts";
export type * from "./decision.ts";
export * from "./human_bytes.ts";
export * from "./folder_mode.ts";
export * from "./block_want.ts";
export * from "./address.ts";
export * from "./invite.ts";
export * from "./log_level.ts";
export * from "./semaphore.ts";
export * from "./mutex.ts";
export * from "./buffer_pool.ts";
