/**
 * `deno task bench [NAME...]`: runs fsync's benchmarks over real processes on 127.0.0.1 and
 * prints their figures (all over mutual TLS). Benchmarks measure; tests assert behaviour. With no NAME, runs all.
 */
// deno-lint-ignore-file no-console -- a benchmark prints its figures
import { measureChangeLatency } from "./bench/change_latency.ts";
import { measureFloor } from "./bench/floor.ts";
import { measureHashSpeeds } from "./bench/hash_speed.ts";
import { measureInitialSync } from "./bench/initial_sync.ts";
import { measureStatusLatency } from "./bench/status_latency.ts";
import { measureTransferBytes } from "./bench/transfer_bytes.ts";

const MB = 1e6;

const BENCHMARKS: Record<string, () => Promise<string>> = {
  "mixed": async () => {
    const f = await measureInitialSync({
      smallFiles: 10_000,
      maxSmallBytes: 16 * 1024,
      largeFiles: [...Array(20).fill(5 * 2 ** 20), 200 * 2 ** 20, 200 * 2 ** 20],
      seed: 11,
    }, { compareWithCp: true, compareWithRsync: true });
    const gib = f.bytes / 2 ** 30;
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    return `initial sync of ${f.files} files, ${(f.bytes / MB).toFixed(0)} MB: ${f.seconds.toFixed(1)} s, ` +
      `${(f.bytes / MB / f.seconds).toFixed(1)} MB/s, ${(f.files / f.seconds).toFixed(0)} files/s; ` +
      `cp -a ${f.cpSeconds!.toFixed(1)} s (fsync/cp ${(f.seconds / f.cpSeconds!).toFixed(1)}x); ` +
      (f.rsyncSeconds === undefined
        ? "rsync not installed (no rsync ratio); "
        : `rsync daemon ${f.rsyncSeconds.toFixed(1)} s (fsync/rsync ${(f.seconds / f.rsyncSeconds).toFixed(2)}); `) +
      `peak RSS sharer ${mib(f.sharer.peakRssBytes)}, joiner ${mib(f.joiner.peakRssBytes)}; ` +
      `CPU s/GiB sharer ${(f.sharer.cpuSeconds / gib).toFixed(1)}, joiner ${(f.joiner.cpuSeconds / gib).toFixed(1)}`;
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
    const { renameDirectory: r, middleChange: m } = await measureTransferBytes();
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
    return `rename of a directory of ${r.files} files (${mib(r.bytes)}): ${mib(r.received)} received; ` +
      `${mib(m.changed)} rewritten in a ${mib(m.fileBytes)} file: ${mib(m.received)} received`;
  },
  "hash": async () => {
    const { webCrypto, nodeCrypto } = await measureHashSpeeds();
    const line = (speeds: Record<string, number>) =>
      Object.entries(speeds).map(([block, mibs]) => `${mibs.toFixed(0)} MiB/s (${block} blocks)`).join(", ");
    return `SHA-256 Web Crypto digest ${line(webCrypto)}; node:crypto createHash ${
      line(nodeCrypto)
    } (fsync uses node:crypto)`;
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
