/**
 * A real three-device demo on 127.0.0.1: makes a folder, shares it with `fsync share` (an
 * invite for two devices), joins it with `fsync join` from two more processes, checks both
 * replicas byte for byte, then stops the sharer and shows an edit on B reaching C directly
 * (A introduced them to each other). Stops every process and cleans up. Exit code 0 when
 * every replica is exact and the edit arrived.
 */
// deno-lint-ignore-file no-console -- a demo talks to the person running it
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../tests/support/peer.ts";
import { diffTrees, snapshotTree, waitContent } from "../tests/support/tree.ts";
import { generateTree } from "../tests/support/gen_tree.ts";

const tmp = await Deno.makeTempDir({ prefix: "fsync-demo-" });
const running: FsyncProcess[] = [];
const indent = (p: FsyncProcess, tag: string) => p.stdout.trim().replace(/^/gm, `  ${tag}| `);
let ok = false;
try {
  const src = join(tmp, "photos");
  await Deno.mkdir(src);
  const summary = await generateTree(src, {
    smallFiles: 500,
    maxSmallBytes: 16 * 1024,
    largeFiles: [24 * 1024 * 1024],
    seed: 42,
  });
  const mib = (summary.bytes / 2 ** 20).toFixed(1);
  console.log(`demo: made ${summary.files} files (${mib} MiB) in ${src}`);
  console.log(
    `demo: device A runs: fsync --home ${join(tmp, "home-a")} share ${src} --listen 127.0.0.1:0 --invite-uses 2`,
  );
  const { sharer, invite } = await startSharer(src, join(tmp, "home-a"), 0, ["--invite-uses", "2"]);
  running.push(sharer);
  console.log(indent(sharer, "A"));
  const started = performance.now();
  const joiners: Record<string, FsyncProcess> = {};
  for (const device of ["B", "C"]) {
    const args = ["--home", join(tmp, `home-${device}`), "join", invite, join(tmp, device), "--yes"];
    console.log(`demo: device ${device} runs: fsync ${[...args, "--listen", "127.0.0.1:0"].join(" ")}`);
    joiners[device] = FsyncProcess.start([...args, "--listen", "127.0.0.1:0"]);
    running.push(joiners[device]);
  }
  for (const [device, p] of Object.entries(joiners)) {
    await p.waitFor(/In sync:/, 300_000);
    const differences = diffTrees(await snapshotTree(src), await snapshotTree(join(tmp, device)));
    if (differences.length > 0) throw new Error(`${device} differs:\n${differences.slice(0, 20).join("\n")}`);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `demo: B and C are byte-identical to A (content, modes, mtimes, symlinks, empty dirs): ` +
      `${summary.files} files, ${mib} MiB each in ${seconds.toFixed(1)} s`,
  );
  await joiners.B.waitFor(/introduced .* at 127\.0\.0\.1:\d+|connected to .*[\s\S]*connected to /);
  console.log("demo: A introduced B and C to each other; stopping A");
  sharer.stop("SIGTERM");
  await sharer.status;
  const edited = performance.now();
  await Deno.writeTextFile(join(tmp, "B", "note-from-b.txt"), "written on B while A is down\n");
  await waitContent(join(tmp, "C", "note-from-b.txt"), "written on B while A is down\n");
  console.log(`demo: a file written on B reached C directly in ${(performance.now() - edited).toFixed(0)} ms`);
  for (const [device, p] of Object.entries(joiners)) console.log(indent(p, device));
  ok = true;
} finally {
  for (const p of running) await p.stop("SIGTERM");
  console.log("demo: every device stopped");
  await Deno.remove(tmp, { recursive: true });
}
Deno.exit(ok ? 0 : 1);
