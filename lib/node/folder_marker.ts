import { join } from "node:path";
import { ExitCode, FsyncError } from "../model/mod.ts";
import type { RootObservation } from "../plan/mod.ts";
import { FOLDER_MARKER } from "../scan/mod.ts";
import type { FolderRecord } from "../store/mod.ts";

/** What the marker file says to whoever finds it. */
const MARKER_TEXT = "This file tells fsync that this folder is in place (not an empty mount point). Keep it.\n";

/** Whether the folder's marker is in its root (sync: one lstat, cheap enough before each write of a pull). */
export function hasMarker(root: string): boolean {
  try {
    Deno.lstatSync(join(root, FOLDER_MARKER));
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    throw e;
  }
}

/** Writes the marker into the root (which must exist). */
export async function writeMarker(root: string): Promise<void> {
  await Deno.writeTextFile(join(root, FOLDER_MARKER), MARKER_TEXT);
}

/**
 * Looks at a folder's root for {@linkcode rootVerdict}; `indexEmpty` is asked only when the
 * answer depends on it.
 */
export async function observeRoot(
  folder: FolderRecord,
  indexEmpty: () => Promise<boolean>,
): Promise<RootObservation> {
  const wasMarked = folder.marked === true;
  try {
    if (!(await Deno.stat(folder.path)).isDirectory) {
      return { exists: false, hasMarker: false, wasMarked, isEmpty: true, indexEmpty: false };
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) {
      throw new FsyncError(`cannot read folder ${folder.path}: ${(e as Error).message}`, ExitCode.io, { cause: e });
    }
    return { exists: false, hasMarker: false, wasMarked, isEmpty: true, indexEmpty: false };
  }
  const marker = hasMarker(folder.path);
  let isEmpty = true;
  try {
    for await (const entry of Deno.readDir(folder.path)) {
      if (entry.name === FOLDER_MARKER) continue;
      isEmpty = false;
      break;
    }
  } catch (e) {
    throw new FsyncError(`cannot read folder ${folder.path}: ${(e as Error).message}`, ExitCode.io, { cause: e });
  }
  const needIndex = !marker && !wasMarked && isEmpty;
  return { exists: true, hasMarker: marker, wasMarked, isEmpty, indexEmpty: needIndex ? await indexEmpty() : false };
}

/** The problem of a folder whose root cannot be used, with the command that takes it as it is. */
export function stoppedMessage(folder: FolderRecord, exists: boolean): string {
  const why = exists ? `marker ${FOLDER_MARKER} missing` : "the folder is missing";
  return `folder root ${folder.path} looks unmounted or replaced: ${why}; nothing is scanned, deleted or ` +
    `written until it is back (a running fsync resumes within seconds once it is back, or run \`fsync folder rescan ${folder.id}\`); ` +
    `if the folder really is empty, run \`fsync folder rescan --accept-empty ${folder.id}\``;
}

/** The problem a folder's root shows on disk, read without a running device (`fsync status`). */
export function rootProblemOnDisk(folder: FolderRecord): string | undefined {
  if (folder.marked !== true) return undefined;
  let exists: boolean;
  try {
    exists = Deno.statSync(folder.path).isDirectory;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
    exists = false;
  }
  return exists && hasMarker(folder.path) ? undefined : stoppedMessage(folder, exists);
}
