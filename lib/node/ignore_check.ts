import { relative, resolve, sep } from "node:path";
import { ExitCode, FsyncError } from "../model/mod.ts";
import { IGNORE_FILE, type IgnoreVerdict, loadIgnoreRules } from "../scan/mod.ts";
import { openExistingStore } from "./peers.ts";

/** Whether a path is ignored in its folder, and why. */
export interface IgnoreExplanation extends IgnoreVerdict {
  /** The label of the folder holding the path. */
  readonly folder: string;
  /** The path relative to the folder's root. */
  readonly path: string;
  readonly isDirectory: boolean;
  /** True for the ignore file itself, which is never synced. */
  readonly isIgnoreFile: boolean;
}

/**
 * Explains whether `path` (absolute or relative to the working directory; it need not exist,
 * and a trailing slash marks a directory) is ignored in the folder of `home` that holds it.
 *
 * @throws {FsyncError} (usage) when no folder of `home` holds the path.
 */
export async function explainIgnored(home: string, path: string, ignoreDefaults: boolean): Promise<IgnoreExplanation> {
  const abs = resolve(path);
  const store = await openExistingStore(home);
  let folders;
  try {
    folders = await store.listFolders();
  } finally {
    store.close();
  }
  const folder = folders
    .filter((f) => abs === f.path || abs.startsWith(f.path + sep))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!folder) {
    throw new FsyncError(`${abs} is not inside a folder this device syncs`, ExitCode.usage, {
      hint: "see the folders with `fsync status`",
    });
  }
  const rel = relative(folder.path, abs).split(sep).join("/");
  if (rel === "") throw new FsyncError(`${abs} is the root of folder "${folder.label}"`, ExitCode.usage);
  let isDirectory = path.endsWith("/");
  try {
    isDirectory ||= Deno.lstatSync(abs).isDirectory;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const verdict = loadIgnoreRules(folder.path, ignoreDefaults).explain(rel, isDirectory);
  return { ...verdict, folder: folder.label, path: rel, isDirectory, isIgnoreFile: rel === IGNORE_FILE };
}
