/**
 * The floor under fsync's speed on this machine: the same two transfers as the `large-file`
 * and `small-files` benchmarks, done by two processes that use fsync's transport and the
 * durable-write steps of a pull and nothing else (see floor_peer.ts). The gap between these
 * figures and fsync's is what fsync's own work costs; these figures bound what it can reach.
 */
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { DENO_RUN_FLAGS } from "../../tests/support/peer.ts";
import { usageWhile } from "../../tests/support/usage.ts";
import { generateTree } from "../../tests/support/gen_tree.ts";

const PEER = fromFileUrl(new URL("./floor_peer.ts", import.meta.url));

/** One floor transfer: timed from its first request, and from the start of its process. */
export interface FloorRun {
  readonly seconds: number;
  readonly processSeconds: number;
  /** Peak RSS of the fetching process, and of the serving one (since it started). */
  readonly fetcherPeakRssBytes: number;
  readonly serverPeakRssBytes: number;
}

/** Both floor transfers. */
export interface FloorFigures {
  /** 256 MiB fetched from memory, no disk and no hashing. */
  readonly stream: FloorRun & { readonly bytes: number };
  /** The small-files benchmark's tree, each file fetched whole and made durable. */
  readonly files: FloorRun & { readonly files: number };
}

/** Runs floor_peer.ts as fsync runs. */
function peerCommand(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [...DENO_RUN_FLAGS, PEER, ...args],
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs one fetching side to its end, against the server with PID `serverPid`. */
async function timeFetch(args: string[], serverPid: number): Promise<FloorRun> {
  const started = performance.now();
  const fetcher = peerCommand(args).spawn();
  const output = fetcher.output();
  const [fetcherUsage, serverUsage] = await usageWhile([fetcher.pid, serverPid], output);
  const out = await output;
  const processSeconds = (performance.now() - started) / 1000;
  const text = new TextDecoder();
  if (!out.success) throw new Error(`floor_peer ${args[0]} failed: ${text.decode(out.stderr)}`);
  return {
    seconds: JSON.parse(text.decode(out.stdout)).seconds,
    processSeconds,
    fetcherPeakRssBytes: fetcherUsage.peakRssBytes,
    serverPeakRssBytes: serverUsage.peakRssBytes,
  };
}

/** Measures both floor transfers between two fresh processes on 127.0.0.1. */
export async function measureFloor(): Promise<FloorFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-floor-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    // The small-files benchmark's tree (its symlink and empty directory are not fetched).
    const tree = await generateTree(src, { smallFiles: 2000, maxSmallBytes: 16 * 1024, largeFiles: [], seed: 2 });
    const server = peerCommand(["serve", join(tmp, "home-server"), src]).spawn();
    let exited = false;
    server.status.then(() => exited = true);
    try {
      const port = await portOf(server);
      const stream = await timeFetch(["stream", join(tmp, "home-stream"), String(port), "256"], server.pid);
      const files = await timeFetch(
        ["files", join(tmp, "home-files"), String(port), src, join(tmp, "dst")],
        server.pid,
      );
      return { stream: { ...stream, bytes: 256 * 2 ** 20 }, files: { ...files, files: tree.files } };
    } finally {
      if (!exited) server.kill("SIGTERM");
      await server.status;
      await server.stderr.cancel();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Reads the server's "port N" line (the rest of its output is not needed). */
async function portOf(server: Deno.ChildProcess): Promise<number> {
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`floor_peer serve stopped before listening: ${seen}`);
      seen += value;
      const port = seen.match(/port (\d+)\n/)?.[1];
      if (port) return Number(port);
    }
  } finally {
    await reader.cancel();
  }
}
