import { type Decision, type FileInfo, pathDepth } from "../model/mod.ts";

/**
 * When a pull pass carries out a decision, as the pass walks the peer's index (parents
 * before children):
 * - `in-order`: at once, before the next entry (a directory exists before what goes in it;
 *   metadata, symlinks and records are cheap);
 * - `parallel`: a file's content, fetched alongside other files;
 * - `delete`: after everything else, deepest first ({@linkcode deletionOrder}), so a
 *   directory is emptied before it is removed;
 * - `replace`: a live local directory that becomes a file or symlink, after the deletes
 *   have emptied it.
 */
export type PassStage = "in-order" | "parallel" | "delete" | "replace";

/**
 * The stage of a decision about a path whose local entry is `local`.
 *
 * @example
 * ```ts
 * import { stageOf } from "./pass_order.ts";
 * import assert from "node:assert/strict";
 * const dir = { path: "d", type: "directory", deleted: false } as const;
 * assert.equal(stageOf({ action: "delete", file: { ...dir, deleted: true } } as never, dir as never), "delete");
 * ```
 */
export function stageOf(decision: Exclude<Decision, { action: "keep" }>, local: FileInfo | undefined): PassStage {
  if (decision.action === "delete") return "delete";
  if (decision.action !== "fetch") return "in-order";
  const { type } = decision.file;
  if (type !== "directory" && local !== undefined && !local.deleted && local.type === "directory") return "replace";
  return type === "file" ? "parallel" : "in-order";
}

/** Deletions in the order they are carried out: children before their parents (deepest first), stable otherwise. */
export function deletionOrder<T extends { readonly file: { readonly path: string } }>(deletes: readonly T[]): T[] {
  return [...deletes].sort((a, b) => pathDepth(b.file.path) - pathDepth(a.file.path));
}
