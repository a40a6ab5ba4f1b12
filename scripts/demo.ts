/**
 * A real two-peer demo on 127.0.0.1: makes a folder, shares it with `fsync share` in one
 * process, joins it with `fsync join --once` in another, checks the replica byte for byte,
 * prints a summary, stops the sharer and cleans up. Exit code 0 when the replica is exact.
 */
// deno-lint-ignore-file no-console -- a demo talks to the person running it
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../tests/support/peer.ts";
import { diffTrees, snapshotTree } from "../tests/support/tree.ts";
import { generateTree } from "../tests/support/gen_tree.ts";

const tmp = await Deno.makeTempDir({ prefix: "fsync-demo-" });
let ok = false;
try {
  const src = join(tmp, "photos");
  const dst = join(tmp, "replica");
  await Deno.mkdir(src);
  const summary = await generateTree(src, {
    smallFiles: 500,
    maxSmallBytes: 16 * 1024,
    largeFiles: [24 * 1024 * 1024],
    seed: 42,
  });
  console.log(`demo: made ${summary.files} files (${(summary.bytes / 2 ** 20).toFixed(1)} MiB) in ${src}`);
  console.log(`demo: peer A runs: fsync --home ${join(tmp, "home-a")} share ${src} --listen 127.0.0.1:0`);
  const { sharer, invite } = await startSharer(src, join(tmp, "home-a"));
  try {
    console.log(sharer.stdout.trim().replace(/^/gm, "  A| "));
    const args = ["--home", join(tmp, "home-b"), "join", invite, dst, "--yes", "--once"];
    console.log(`demo: peer B runs: fsync ${args.join(" ")}`);
    const started = performance.now();
    const joined = await FsyncProcess.run(args, 300_000);
    console.log(joined.stdout.trim().replace(/^/gm, "  B| "));
    if (joined.code !== 0) throw new Error(`join exited with ${joined.code}:\n${joined.stderr}`);
    const differences = diffTrees(await snapshotTree(src), await snapshotTree(dst));
    const seconds = (performance.now() - started) / 1000;
    if (differences.length > 0) throw new Error(`the replica differs:\n${differences.slice(0, 20).join("\n")}`);
    console.log(
      `demo: replica is byte-identical (content, modes, mtimes, symlinks, empty dirs): ` +
        `${summary.files} files, ${(summary.bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)} s`,
    );
    ok = true;
  } finally {
    Deno.kill(sharer.pid, "SIGTERM");
    const { code } = await sharer.status;
    console.log(`demo: peer A stopped (exit ${code})`);
    await sharer.stop();
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}
Deno.exit(ok ? 0 : 1);
