// deno-lint-ignore-file no-console -- a command prints for people on standard output.
import { ExitCode, type FolderAction, FsyncError, runFolderAction } from "../../mod.ts";
import { type CliContext, deviceOptions } from "./context.ts";

/**
 * `fsync folder rescan [--accept-empty] ID` and `fsync folder confirm-deletes ID`: done by
 * the running fsync (through its control socket), or on the store when none runs.
 *
 * @throws {FsyncError} (tempFail) when the folder still does not sync as usual afterwards.
 */
export async function folderAction(folder: string, action: FolderAction, ctx: CliContext): Promise<void> {
  const result = await runFolderAction(deviceOptions(ctx), folder, action);
  const done = action === "confirm-deletes"
    ? "deletions confirmed"
    : action === "accept-empty"
    ? "root accepted as it is"
    : "rescanned";
  const where = result.running
    ? "by the running fsync"
    : `in the store${result.changes > 0 ? ": the next run or sync sends them" : ""}`;
  console.log(`folder "${result.label}" (${result.id}): ${done}, ${result.changes} changes recorded ${where}`);
  if (result.problem !== null) throw new FsyncError(result.problem, ExitCode.tempFail);
}
