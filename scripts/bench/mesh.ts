/**
 * Many devices: a generated tree sent by one seeder to three new devices at once, against two
 * seeders sending it to one new device (and one seeder to one, the baseline); wall time until every new replica is complete, and the
 * block data each device served (from `fsync status --json`, bytesSent).
 */
import { join } from "node:path";
import { generateTree, type TreeSpec } from "../../tests/support/gen_tree.ts";
import { FsyncProcess, startSharer } from "../../tests/support/peer.ts";
import { waitConverged } from "../../tests/support/tree.ts";

/** One way of filling new devices: how long it took, and who served how many bytes. */
export interface MeshRun {
  readonly seconds: number;
  /** Bytes of block data each device served while the new devices filled, by its name ("a", "b", ...). */
  readonly served: Readonly<Record<string, number>>;
}

/** The tree's size and both runs. */
export interface MeshFigures {
  readonly files: number;
  readonly bytes: number;
  /** A alone seeds B (the baseline). */
  readonly oneToOne: MeshRun;
  /** A alone seeds B, C and D, which join at once (and may serve each other what they completed). */
  readonly oneToThree: MeshRun;
  /** A and B, both complete, seed C. */
  readonly twoToOne: MeshRun;
}

const TIMEOUT_MS = 900_000;

/** Generates `spec` and measures both ways of filling new devices, each in its own homes. */
export async function measureMesh(spec: TreeSpec): Promise<MeshFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-mesh-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const summary = await generateTree(src, spec);
    const oneToOne = await fill(join(tmp, "one"), src, [], ["b"]);
    const oneToThree = await fill(join(tmp, "three"), src, [], ["b", "c", "d"]);
    const twoToOne = await fill(join(tmp, "two"), src, ["b"], ["c"]);
    return { files: summary.files, bytes: summary.bytes, oneToOne, oneToThree, twoToOne };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/**
 * Shares a copy of `src` from "a", fills the `seeders` first (one after the other, not
 * measured), then starts every new device at once and times until all are complete.
 */
async function fill(tmp: string, src: string, seeders: string[], fresh: string[]): Promise<MeshRun> {
  const a = join(tmp, "a");
  await Deno.mkdir(tmp);
  const copy = await new Deno.Command("cp", { args: ["-a", src, a] }).output();
  if (!copy.success) throw new Error(`cp -a failed: ${new TextDecoder().decode(copy.stderr)}`);
  const home = (d: string) => join(tmp, `home-${d}`);
  const uses = String(seeders.length + fresh.length);
  const { sharer, invite } = await startSharer(a, home("a"), 0, ["--invite-uses", uses]);
  const running: FsyncProcess[] = [sharer];
  const joinAs = (d: string) => {
    const p = FsyncProcess.start(["--home", home(d), "join", invite, join(tmp, d), "--yes", "--listen", "127.0.0.1:0"]);
    running.push(p);
    return p;
  };
  try {
    for (const d of seeders) await joinAs(d).waitFor(/In sync:/, TIMEOUT_MS);
    // What the seeders served each other before is not the new devices'.
    const before: Record<string, number> = {};
    for (const d of ["a", ...seeders]) before[d] = await bytesServed(home(d));
    const started = performance.now();
    // Complete once it holds as many files and bytes as the tree, no temporary file among them
    // (an In sync line may be with another new device, which has nothing yet); checked against
    // the tree once timed (polling tree snapshots would hash 600 MB each time).
    const target = await totals(a);
    for (const d of fresh) joinAs(d);
    await Promise.all(fresh.map(async (d) => {
      const deadline = Date.now() + TIMEOUT_MS;
      while ((await totals(join(tmp, d)).catch(() => "")) !== target) {
        if (Date.now() > deadline) throw new Error(`new device ${d} not complete`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    for (const d of fresh) await waitConverged(a, join(tmp, d), `new device ${d}`, TIMEOUT_MS);
    const served: Record<string, number> = {};
    for (const d of ["a", ...seeders, ...fresh]) served[d] = await bytesServed(home(d)) - (before[d] ?? 0);
    return { seconds, served };
  } finally {
    for (const p of running) await p.stop("SIGTERM");
  }
}

/** "files bytes temps" of the tree at `root` (fsync's marker and temporary files counted apart), from stat alone. */
async function totals(root: string): Promise<string> {
  let files = 0, bytes = 0, temps = 0;
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.name.startsWith(".fsync-tmp-")) temps++;
      else if (e.isFile && e.name !== ".fsyncfolder") files++, bytes += (await Deno.stat(path)).size;
    }
  };
  await walk(root);
  return `${files} ${bytes} ${temps === 0 ? "done" : "pulling"}`;
}

/** Block data the running fsync of `home` served, to every peer of every folder. */
async function bytesServed(home: string): Promise<number> {
  const r = await FsyncProcess.run(["--home", home, "status", "--json"]);
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { folders: { peers: { bytesSent: number }[] }[] };
  return report.folders.flatMap((f) => f.peers).reduce((sum, p) => sum + p.bytesSent, 0);
}
