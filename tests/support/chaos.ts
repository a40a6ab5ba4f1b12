import { join } from "node:path";
import { randomData } from "./tree.ts";

/**
 * The seed of a chaos test: FSYNC_CHAOS_SEED replays the same random numbers (the run follows
 * them only until timing makes it differ: which files exist when a step looks, whether a
 * process is up), else a new one.
 */
export const SEED = Number(Deno.env.get("FSYNC_CHAOS_SEED") ?? Math.floor(Math.random() * 2 ** 31));

/** A seeded PRNG (mulberry32): the same seed gives the same choices. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The files a device's operations may touch: the test's own names, never conflict copies or fsync's files. */
async function ownFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(root, dir))) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path);
      else if (e.isFile && /^f\d+\.txt$/.test(e.name)) out.push(path);
    }
  };
  await walk("");
  return out.sort();
}

/**
 * Writes `path` under `root` as a chaos step: the unique `token` on the first line, then a
 * body (5% of the time 1-2 MiB of random bytes, else the token repeated).
 */
async function writeToken(root: string, path: string, token: string, random: () => number): Promise<void> {
  const body = random() < 0.05
    ? randomData((1 + Math.floor(random() * 2)) << 20)
    : new TextEncoder().encode(`${token} `.repeat(1 + Math.floor(random() * 2000)));
  await Deno.mkdir(join(root, path, ".."), { recursive: true });
  const data = new Uint8Array(token.length + 1 + body.length);
  data.set(new TextEncoder().encode(`${token}\n`));
  data.set(body, token.length + 1);
  await Deno.writeFile(join(root, path), data);
}

/** The token (first line) of a file. */
async function tokenOf(file: string): Promise<string> {
  return new TextDecoder().decode((await Deno.readFile(file)).subarray(0, 64)).split("\n")[0];
}

/**
 * The last writes lost in the tree at `root`: for each path whose last operation wrote a token
 * (`last`; null for a deletion or a rename away), the token must be at that path or in a
 * conflict copy of it. Returns one line per token found neither place.
 */
export async function lostWrites(root: string, last: ReadonlyMap<string, string | null>): Promise<string[]> {
  const tokens = new Map<string, string[]>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(root, dir))) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path);
      else if (e.isFile && !e.name.startsWith(".fsync")) {
        const token = await tokenOf(join(root, path));
        tokens.set(token, [...tokens.get(token) ?? [], path]);
      }
    }
  };
  await walk("");
  const lost: string[] = [];
  for (const [path, token] of last) {
    if (token === null) continue;
    const at = tokens.get(token) ?? [];
    const stem = path.replace(/\.txt$/, "");
    if (!at.some((p) => p === path || p.startsWith(`${stem}.sync-conflict-`))) {
      lost.push(`${path}: ${token} (found at ${at.join(", ") || "nowhere"})`);
    }
  }
  return lost;
}

/** The share of a step's roll (0 to 1) that goes to file operations: rolls below it are one. */
export const FILE_OPERATIONS = 0.8;

/**
 * The file operations of a chaos run, in folders whose files it names `f<n>.txt` (at the root
 * or in `d0/` to `d<dirs-1>/`): creations, edits, deletions and renames picked by a step's
 * roll, each recorded in `last` (a path's last write, null once deleted or moved away).
 */
export class FileChaos {
  /** The last content written at each path, in the order operations were made (null: deleted or moved away). */
  readonly last: Map<string, string | null> = new Map();
  readonly counts = { create: 0, modify: 0, delete: 0, rename: 0 };
  #random: () => number;
  #dirs: number;
  #nextName = 100;

  constructor(random: () => number, dirs: number) {
    this.#random = random;
    this.#dirs = dirs;
  }

  /**
   * In the folder at `root`, the operation `roll` (a step's roll, below FILE_OPERATIONS) picks:
   * create (below 0.3, or whenever no file is there), edit (below 0.6), delete (below 0.7) or
   * rename; a write's content starts with `token`. A file a pull replaced or removed meanwhile
   * is skipped.
   */
  async step(root: string, roll: number, token: string): Promise<void> {
    const files = await ownFiles(root);
    const pick = () => files[Math.floor(this.#random() * files.length)];
    if (roll < 0.3 || files.length === 0) {
      const path = this.#newName();
      await writeToken(root, path, token, this.#random);
      this.last.set(path, token);
      this.counts.create++;
    } else if (roll < 0.6) {
      const path = pick();
      await writeToken(root, path, token, this.#random);
      this.last.set(path, token);
      this.counts.modify++;
    } else if (roll < 0.7) {
      const path = pick();
      await Deno.remove(join(root, path)).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e; // replaced or removed by a pull meanwhile
      });
      this.last.set(path, null);
      this.counts.delete++;
    } else {
      const from = pick();
      const to = this.#newName();
      await Deno.mkdir(join(root, to, ".."), { recursive: true });
      try {
        await Deno.rename(join(root, from), join(root, to));
        // What moved is what was there at the rename (maybe a peer's version pulled a moment before).
        this.last.set(from, null);
        this.last.set(to, await tokenOf(join(root, to)));
        this.counts.rename++;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e; // replaced by a pull meanwhile
      }
    }
  }

  #newName(): string {
    const dir = this.#random() < 0.5 ? "" : `d${Math.floor(this.#random() * this.#dirs)}/`;
    return `${dir}f${this.#nextName++}.txt`;
  }
}
