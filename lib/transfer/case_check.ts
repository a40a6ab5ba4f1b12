import { join } from "node:path";
import type { FileSystem } from "../fs/mod.ts";
import { baseName, parentPath } from "../model/mod.ts";
import { CaseConflictError } from "./errors.ts";

/**
 * The case-insensitive check of one pull pass: a new name that differs only in case from
 * another name in the same directory (on disk, or created earlier in the pass) is refused,
 * as on a case-insensitive file system writing it would replace the other. Each directory
 * is listed once per pass; checking reserves the name, so of two new twins the first wins.
 */
export class CaseCheck {
  #fs: FileSystem;
  #root: string;
  #dirs = new Map<string, Map<string, string>>();
  /** Directories refused in this pass (with a trailing slash): nothing goes under them. */
  #refused: string[] = [];

  constructor(fs: FileSystem, root: string) {
    this.#fs = fs;
    this.#root = root;
  }

  /**
   * Reserves `path` (folder-relative) for a new entry.
   *
   * @throws {CaseConflictError} when its directory holds the same name in another case.
   */
  reserve(path: string): void {
    const dir = parentPath(path);
    let byFolded = this.#dirs.get(dir);
    if (!byFolded) this.#dirs.set(dir, byFolded = this.#list(dir));
    const name = baseName(path);
    const folded = name.toLowerCase();
    const existing = byFolded.get(folded);
    if (existing !== undefined && existing !== name) {
      this.#refused.push(path + "/");
      throw new CaseConflictError(
        `${path}: differs only in case from "${existing}" in the same directory; not written`,
      );
    }
    const under = this.#refused.find((r) => path.startsWith(r));
    if (under) throw new CaseConflictError(`${path}: its directory ${under.slice(0, -1)} was refused (case conflict)`);
    byFolded.set(folded, name);
  }

  #list(dir: string): Map<string, string> {
    const byFolded = new Map<string, string>();
    try {
      for (const entry of this.#fs.readDirSync(join(this.#root, dir))) {
        if (!byFolded.has(entry.name.toLowerCase())) byFolded.set(entry.name.toLowerCase(), entry.name);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // a directory still to be made
    }
    return byFolded;
  }
}
