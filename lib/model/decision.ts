import type { FileInfo } from "./file_info.ts";

/**
 * What a device does about one path after a peer announced a version of it (the planner's
 * output, the puller's input). In every action but `keep`, `file` is the entry the local
 * index holds once the action is done.
 */
export type Decision =
  | { readonly action: "keep" }
  | { readonly action: "record"; readonly file: FileInfo }
  | { readonly action: "update-metadata"; readonly file: FileInfo }
  | { readonly action: "fetch"; readonly file: FileInfo; readonly keepLocalAsConflict: boolean }
  | { readonly action: "delete"; readonly file: FileInfo };
