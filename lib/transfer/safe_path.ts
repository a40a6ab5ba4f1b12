import { join } from "node:path";
import type { FileSystem } from "../fs/mod.ts";
import { PathEscapeError } from "../model/mod.ts";

/**
 * Makes sure every parent of `path` inside `root` is a real directory (creating missing
 * ones), so a write to `path` cannot leave the folder through a symlinked parent.
 * Returns the absolute path.
 *
 * @throws {PathEscapeError} when a parent is a symlink or not a directory.
 */
export function prepareParents(fs: FileSystem, root: string, path: string): string {
  const names = path.split("/");
  let dir = root;
  for (const name of names.slice(0, -1)) {
    dir = join(dir, name);
    try {
      const st = fs.lstatSync(dir);
      if (st.isSymlink) throw new PathEscapeError(`refusing to write ${path}: parent ${dir} is a symlink`);
      if (!st.isDirectory) throw new PathEscapeError(`refusing to write ${path}: parent ${dir} is not a directory`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      fs.mkdirSync(dir);
    }
  }
  return join(root, path);
}
