import { createHash } from "node:crypto";
import { join } from "node:path";
import { TEMP_PREFIX } from "../../lib/model/mod.ts";
import { FOLDER_MARKER } from "../../lib/scan/mod.ts";

/** One entry of a tree snapshot: everything a replica must reproduce. */
export interface EntrySnapshot {
  readonly type: "file" | "directory" | "symlink";
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
  readonly target: string;
}

/**
 * Reads a directory tree: type, permission bits, size, mtime (files and directories), SHA-256 of content,
 * symlink targets. fsync's temporary files and the folder marker are left out, so they show up as a difference
 * only through `assertNoTempFiles`.
 */
export async function snapshotTree(root: string): Promise<Map<string, EntrySnapshot>> {
  const out = new Map<string, EntrySnapshot>();
  // Synchronous calls where they are cheap (a 100,000-file tree is walked in seconds, not minutes).
  const walk = async (dir: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(join(root, dir))];
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return; // removed while walking a live folder
      throw err;
    }
    for (const e of entries) {
      if (e.name.startsWith(TEMP_PREFIX)) continue;
      if (dir === "" && e.name === FOLDER_MARKER) continue; // each device's own, never synced
      const path = dir ? `${dir}/${e.name}` : e.name;
      const abs = join(root, path);
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(abs);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) continue; // removed while walking a live folder
        throw err;
      }
      const mode = (st.mode ?? 0) & 0o7777;
      if (st.isSymlink) {
        out.set(path, { type: "symlink", mode: 0, size: 0, mtimeMs: 0, sha256: "", target: Deno.readLinkSync(abs) });
      } else if (st.isDirectory) {
        out.set(path, { type: "directory", mode, size: 0, mtimeMs: st.mtime!.getTime(), sha256: "", target: "" });
        await walk(path);
      } else {
        const hash = createHash("sha256");
        try {
          if (st.size <= 1 << 20) hash.update(Deno.readFileSync(abs));
          else for await (const chunk of (await Deno.open(abs)).readable) hash.update(chunk);
        } catch (err) {
          if (err instanceof Deno.errors.NotFound) continue;
          throw err;
        }
        out.set(path, {
          type: "file",
          mode,
          size: st.size,
          mtimeMs: st.mtime!.getTime(),
          sha256: hash.digest("hex"),
          target: "",
        });
      }
    }
  };
  await walk("");
  return out;
}

/** Differences between two snapshots, one line each (empty when they are equal). */
export function diffTrees(a: Map<string, EntrySnapshot>, b: Map<string, EntrySnapshot>): string[] {
  const out: string[] = [];
  for (const [path, x] of a) {
    const y = b.get(path);
    if (!y) out.push(`only in first: ${path}`);
    else if (JSON.stringify(x) !== JSON.stringify(y)) {
      out.push(`differs: ${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
    }
  }
  for (const path of b.keys()) if (!a.has(path)) out.push(`only in second: ${path}`);
  return out;
}

/** Paths of fsync temporary files under `root`. */
export async function findTempFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(root, dir))) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.name.startsWith(TEMP_PREFIX)) out.push(path);
      if (e.isDirectory) await walk(path);
    }
  };
  await walk("");
  return out;
}

/** Waits until no fsync temporary file is left under `root` (polling), or fails naming those left. */
export async function waitNoTempFiles(root: string, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = await findTempFiles(root);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = await findTempFiles(root);
  }
  if (left.length > 0) throw new Error(`${what}: ${left.length} temporary files left: ${left.slice(0, 5).join(", ")}`);
}

/** Waits until two live trees are equal (polling), or fails with the differences left. */
export async function waitConverged(a: string, b: string, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  while (Date.now() < deadline) {
    last = diffTrees(await snapshotTree(a), await snapshotTree(b));
    if (last.length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not converged after ${timeoutMs} ms:\n${last.slice(0, 10).join("\n")}`);
}

/** `size` random bytes (getRandomValues fills at most 64 KiB at a time). */
export function randomData(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  return data;
}

/** Whether anything (a file, directory or symlink, even dangling) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A file's text, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Waits until the file at `path` holds `content` (polling), or fails. */
export async function waitContent(path: string, content: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await readIfExists(path)) !== content) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path} to hold "${content}"`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Creates in `dir` a file whose name is `prefix` followed by the bytes 0xFF 0xFE, which are not
 * UTF-8 (Deno's file APIs take only strings, so a shell makes it). Returns the name as Deno's
 * readDir shows it: each byte replaced by U+FFFD.
 */
export async function makeInvalidUtf8File(dir: string, prefix: string, content = "x"): Promise<string> {
  const { code, stderr } = await new Deno.Command("sh", {
    args: ["-c", `printf '%s' "$3" > "$1/$2$(printf '\\377\\376')"`, "sh", dir, prefix, content],
  }).output();
  if (code !== 0) throw new Error(`cannot make a non-UTF-8 name: ${new TextDecoder().decode(stderr)}`);
  return `${prefix}\uFFFD\uFFFD`;
}
