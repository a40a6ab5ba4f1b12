/**
 * `deno task bench [NAME...]`: runs fsync's benchmarks over real processes on 127.0.0.1 and
 * prints their figures (all over mutual TLS). Benchmarks measure; tests assert behaviour. With no NAME, runs all.
 * `mixed`, `cpu-per-file` and `cpu-per-gib` run fsync and its anchors (an rsync daemon, and
 * Syncthing for `mixed`, each when installed) in turns, FSYNC_BENCH_ROUNDS times (default 3).
 */
// deno-lint-ignore-file no-console -- a benchmark prints its figures
import { type AnchoredFigures, measureWithAnchors } from "./bench/anchors.ts";
import { measureChangeLatency } from "./bench/change_latency.ts";
import { measureChunkCost } from "./bench/chunk_cost.ts";
import { measureFloor } from "./bench/floor.ts";
import { measureHashSpeeds } from "./bench/hash_speed.ts";
import { measureInitialSync } from "./bench/initial_sync.ts";
import { measureInitialWireBytes } from "./bench/initial_wire_bytes.ts";
import { measureMesh } from "./bench/mesh.ts";
import { measureOneShot } from "./bench/one_shot.ts";
import { measureStatusLatency } from "./bench/status_latency.ts";
import { measureTransferBytes } from "./bench/transfer_bytes.ts";
import type { SyncMedians } from "./bench/sync_run.ts";

const MB = 1e6;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

/** Rounds of the benchmarks that run fsync beside rsync and Syncthing: FSYNC_BENCH_ROUNDS, default 3. */
const ROUNDS = Number(Deno.env.get("FSYNC_BENCH_ROUNDS") ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error(`fsync bench: FSYNC_BENCH_ROUNDS must be a whole number of at least 1`);
  Deno.exit(2);
}
/** How many rounds the figures of a comparison come from. */
const OF_ROUNDS = ROUNDS === 1 ? "one round" : `medians of ${ROUNDS} rounds`;

/** A tool's medians: "21.3 s, CPU 40.1 s (sharer 18.0, joiner 22.1), peak RSS sharer 250 MiB, joiner 290 MiB". */
function medianFigures(m: SyncMedians, sender: string, receiver: string): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `${m.seconds.toFixed(1)} s, CPU ${m.cpuSeconds.toFixed(1)} s ` +
    `(${sender} ${m.senderCpuSeconds.toFixed(1)}, ${receiver} ${m.receiverCpuSeconds.toFixed(1)}), ` +
    `peak RSS ${sender} ${mib(m.senderPeakRssBytes)}, ${receiver} ${mib(m.receiverPeakRssBytes)}`;
}

/** CPU seconds per `unit` (the tree holds `amount` of them) of fsync's two sides, and rsync's beside them. */
function cpuPer(f: AnchoredFigures, amount: number, unit: string): string {
  const per = (cpuSeconds: number) => (cpuSeconds / amount).toFixed(2);
  const { fsync } = f;
  const rsync = f.anchors.find((a) => a.name === "rsync")?.medians;
  return `fsync ${per(fsync.cpuSeconds)} CPU s per ${unit} (sharer ${per(fsync.senderCpuSeconds)}, ` +
    `joiner ${per(fsync.receiverCpuSeconds)}); ` +
    (rsync
      ? `rsync daemon ${per(rsync.cpuSeconds)} CPU s per ${unit} ` +
        `(fsync/rsync ${ratio(fsync.cpuSeconds, rsync.cpuSeconds)})`
      : "rsync not installed");
}

/** The tree of `mixed` and `initial-wire`: 10,000 small files, twenty of 5 MiB and two of 200 MiB. */
const MIXED_TREE = {
  smallFiles: 10_000,
  maxSmallBytes: 16 * 1024,
  largeFiles: [...Array(20).fill(5 * 2 ** 20), 200 * 2 ** 20, 200 * 2 ** 20],
  seed: 11,
};

const BENCHMARKS: Record<string, () => Promise<string>> = {
  "mixed": async () => {
    const f = await measureWithAnchors(MIXED_TREE, { rounds: ROUNDS, rsync: true, syncthing: true, cp: true });
    const { fsync } = f;
    const anchors = f.anchors.map((a) =>
      a.medians ? `${a.label} ${medianFigures(a.medians, "sender", "receiver")}` : `${a.name} not installed`
    );
    const ratios = f.anchors.flatMap(({ name, medians: m }) =>
      m ? [`fsync/${name} wall ${ratio(fsync.seconds, m.seconds)}, CPU ${ratio(fsync.cpuSeconds, m.cpuSeconds)}`] : []
    );
    return [
      `initial sync of ${f.files} files, ${(f.bytes / MB).toFixed(0)} MB, ${OF_ROUNDS}: ` +
      `fsync ${medianFigures(fsync, "sharer", "joiner")}, ${(f.bytes / MB / fsync.seconds).toFixed(1)} MB/s, ` +
      `${(f.files / fsync.seconds).toFixed(0)} files/s`,
      ...anchors,
      ...ratios,
      `cp -a ${f.cpSeconds!.toFixed(1)} s (fsync/cp ${ratio(fsync.seconds, f.cpSeconds!)})`,
    ].join("; ");
  },
  "memory": async () => {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)}`;
    const peaks = [];
    for (const smallFiles of [2_500, 10_000, 20_000]) {
      const { fsync: m } = await measureWithAnchors({ ...MIXED_TREE, smallFiles }, { rounds: 1 });
      peaks.push(`${smallFiles.toLocaleString("en")}: ${mib(m.senderPeakRssBytes)} / ${mib(m.receiverPeakRssBytes)}`);
    }
    return `peak RSS in MiB, sharer / joiner, of an initial sync of mixed's tree with this many small files ` +
      `(target: under 200, not growing with files): ${peaks.join("; ")}`;
  },
  "cpu-per-file": async () => {
    const spec = { smallFiles: 5000, maxSmallBytes: 16 * 1024, largeFiles: [], seed: 5 };
    const f = await measureWithAnchors(spec, { rounds: ROUNDS, rsync: true });
    return `initial sync of ${f.files} files of up to 16 KiB, ${OF_ROUNDS}: ` +
      cpuPer(f, f.files / 1000, "1,000 files");
  },
  "cpu-per-gib": async () => {
    const spec = { smallFiles: 0, maxSmallBytes: 0, largeFiles: [512 * 2 ** 20], seed: 6 };
    const f = await measureWithAnchors(spec, { rounds: ROUNDS, rsync: true });
    return `initial sync of one 512 MiB file, ${OF_ROUNDS}: ${cpuPer(f, f.bytes / 2 ** 30, "GiB")}`;
  },
  "large-file": async () => {
    const f = await measureInitialSync({ smallFiles: 0, maxSmallBytes: 0, largeFiles: [256 * 2 ** 20], seed: 1 });
    return `initial sync of one 256 MiB file: ${f.seconds.toFixed(2)} s, ${(f.bytes / MB / f.seconds).toFixed(1)} MB/s`;
  },
  "small-files": async () => {
    const f = await measureInitialSync({ smallFiles: 2000, maxSmallBytes: 16 * 1024, largeFiles: [], seed: 2 });
    return `initial sync of ${f.files} files of 1-16 KiB: ${f.seconds.toFixed(2)} s, ` +
      `${(f.files / f.seconds).toFixed(0)} files/s`;
  },
  "floor": async () => {
    const { stream: s, files: f } = await measureFloor();
    return `fsync's transport and a pull's disk steps alone (no index, no hashing): 256 MiB from memory in ` +
      `${s.seconds.toFixed(2)} s, ${(s.bytes / MB / s.seconds).toFixed(1)} MB/s ` +
      `(${(s.bytes / MB / s.processSeconds).toFixed(1)} MB/s from process start; peak RSS fetching ` +
      `${(s.fetcherPeakRssBytes / 2 ** 20).toFixed(0)} MiB, serving ${
        (s.serverPeakRssBytes / 2 ** 20).toFixed(0)
      } MiB); ` +
      `${f.files} files of 1-16 KiB ` +
      `fetched and made durable one by one: ${(f.files / f.seconds).toFixed(0)} files/s ` +
      `(${(f.files / f.processSeconds).toFixed(0)} from process start)`;
  },
  "transfer-bytes": async () => {
    const f = await measureTransferBytes();
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
    const mb = (n: number) => `${(n / MB).toFixed(2)} MB`;
    const r = f.renameDirectory;
    return [
      `bytes on the wire from the sharer: initial sync of ${mib(f.initialSync.bytes)}: ${mib(f.initialSync.received)}`,
      `rename of a directory of ${r.files} files (${mib(r.bytes)}): ${mib(r.received)}`,
      `in a ${mib(f.fileBytes)} file: ${mb(f.middleChange.changed)} rewritten in the middle: ` +
      `${mb(f.middleChange.received)}`,
      `${mb(f.append.changed)} appended: ${mb(f.append.received)}`,
      `${mb(f.insertion.changed)} inserted at the middle: ${mb(f.insertion.received)} (target at most 1.5 MB)`,
      `${mb(f.deletion.changed)} deleted from the middle: ${mb(f.deletion.received)} (target at most 0.5 MB)`,
    ].join("\n");
  },
  "initial-wire": async () => {
    const f = await measureInitialWireBytes(MIXED_TREE);
    const mb = (n: number) => `${(n / MB).toFixed(2)} MB`;
    return `initial sync of mixed's tree (${mb(f.fileBytes)} of files) through a counting proxy: ` +
      `${mb(f.fromSharer)} from the sharer, ${mb(f.toSharer)} to it ` +
      `(${((f.fromSharer / f.fileBytes - 1) * 100).toFixed(2)}% over the files' bytes)`;
  },
  "mesh": async () => {
    const f = await measureMesh(MIXED_TREE);
    const mb = (n: number) => `${(n / MB).toFixed(0)} MB`;
    const served = (r: Record<string, number>) => Object.entries(r).map(([d, n]) => `${d} ${mb(n)}`).join(", ");
    const { oneToOne: base, oneToThree: three, twoToOne: two } = f;
    return `${f.files} files, ${mb(f.bytes)}: one seeder (a) to one new device: ${base.seconds.toFixed(1)} s; ` +
      `to three new devices at once: ${three.seconds.toFixed(1)} s until all three are complete ` +
      `(served: ${served(three.served)}); two seeders (a, b) to one new device: ${two.seconds.toFixed(1)} s ` +
      `(served: ${served(two.served)})`;
  },
  "hash": async () => {
    const { webCrypto, nodeCrypto } = await measureHashSpeeds();
    const line = (speeds: Record<string, number>) =>
      Object.entries(speeds).map(([block, mibs]) => `${mibs.toFixed(0)} MiB/s (${block} blocks)`).join(", ");
    const c = await measureChunkCost();
    const cost = (f: { cpuSeconds: number; seconds: number }) =>
      `${f.cpuSeconds.toFixed(2)} CPU s (${f.seconds.toFixed(2)} s)`;
    return `SHA-256 Web Crypto digest ${line(webCrypto)}; node:crypto createHash ${
      line(nodeCrypto)
    } (fsync uses node:crypto)\n` +
      `hashing a ${(c.fileBytes / 2 ** 30).toFixed(0)} GiB file (page cache, medians of 3, alternating): ` +
      `content-defined blocks ${cost(c.contentDefined)}, fixed 512 KiB blocks ${cost(c.fixed)}: ` +
      `+${((c.contentDefined.cpuSeconds / c.fixed.cpuSeconds - 1) * 100).toFixed(0)}% CPU (target at most +15%); ` +
      `the main thread's longest stall meanwhile ${c.longestStallMs.toFixed(1)} ms`;
  },
  "status": async () => {
    const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
    const lines = [];
    for (const files of [10, 100_000]) {
      const f = await measureStatusLatency(files);
      lines.push(
        `status of a running device at ${f.files.toLocaleString("en")} files (one peer ahead on a tenth): ` +
          `first ${ms(f.firstSeconds)} (counts), then median ${ms(f.unchangedMedianSeconds)} unchanged, ` +
          `${ms(f.afterChangeMedianSeconds)} after a file changed`,
      );
    }
    return lines.join("\n");
  },
  "one-shot": async () => {
    const spec = { smallFiles: 10_000, maxSmallBytes: 16 * 1024, largeFiles: [], seed: 7 };
    const f = await measureOneShot(spec, 5);
    const rsync = f.rsyncSeconds === undefined ? "rsync not installed" : `rsync -a ${f.rsyncSeconds.toFixed(2)} s`;
    return `sync --once with nothing to do on ${f.files} files, medians of ${f.rounds} runs in turns: ` +
      `fsync ${f.syncOnceSeconds.toFixed(2)} s (fsync --version alone ${f.versionSeconds.toFixed(2)} s); ${rsync}`;
  },
  "change-latency": async () => {
    const f = await measureChangeLatency(50);
    return `${f.changes} changes of 4 KiB, sharer to joiner: median ${f.medianMs.toFixed(1)} ms, ` +
      `p95 ${f.p95Ms.toFixed(1)} ms, max ${f.maxMs.toFixed(1)} ms`;
  },
};

const names = Deno.args.length > 0 ? Deno.args : Object.keys(BENCHMARKS);
for (const name of names) {
  const run = BENCHMARKS[name];
  if (!run) {
    console.error(`fsync bench: unknown benchmark ${name} (known: ${Object.keys(BENCHMARKS).join(", ")})`);
    Deno.exit(2);
  }
  console.log(`${name}: ${await run()}`);
}
