// deno-lint-ignore-file no-console -- the chaos test prints its seed (to replay it) and what it survived.
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, FsyncProcess, startSharer } from "../support/peer.ts";
import { waitConverged, waitNoTempFiles } from "../support/tree.ts";
import { FILE_OPERATIONS, FileChaos, lostWrites, prng, SEED } from "../support/chaos.ts";

/**
 * Seconds of random operations: 40 in the suite, more with FSYNC_CHAOS_SECONDS. FSYNC_CHAOS_SEED
 * replays a run's choices; FSYNC_CHAOS_LOGS=1 prints every process's output at the end.
 */
const SECONDS = Number(Deno.env.get("FSYNC_CHAOS_SECONDS") ?? 40);
const DEVICES = ["a", "b", "c", "d", "e"] as const;
type Name = typeof DEVICES[number];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test(`mesh chaos: five devices as processes, ${SECONDS} s of random edits, renames and deletions on random devices while random devices stop (SIGTERM or SIGKILL) and start; then identical trees, no temporary file, every path's last write kept`, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-mesh-chaos-" });
  const random = prng(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  console.log(`mesh chaos seed ${SEED} (FSYNC_CHAOS_SEED=${SEED} replays its choices), ${SECONDS} s`);
  const dirs = Object.fromEntries(DEVICES.map((d) => [d, join(tmp, d)])) as Record<Name, string>;
  const homes = Object.fromEntries(DEVICES.map((d) => [d, join(tmp, `home-${d}`)])) as Record<Name, string>;
  const ports = Object.fromEntries(DEVICES.map((d) => [d, freePort()])) as Record<Name, number>;
  await Deno.mkdir(dirs.a);
  for (let i = 0; i < 10; i++) await Deno.writeTextFile(join(dirs.a, `f${i}.txt`), `seed-${i}\n`);
  const procs: Partial<Record<Name, FsyncProcess>> = {};
  const ended: FsyncProcess[] = [];
  const start = (d: Name) => FsyncProcess.start(["--home", homes[d], "run", "--listen", `127.0.0.1:${ports[d]}`]);
  const files = new FileChaos(random, 3);
  const counts = { stop: 0, kill: 0 };
  const downUntil: Record<Name, number> = { a: 0, b: 0, c: 0, d: 0, e: 0 };
  let ops = 0;
  try {
    const first = await startSharer(dirs.a, homes.a, ports.a, ["--invite-uses", "4"]);
    procs.a = first.sharer;
    for (const d of DEVICES.slice(1)) {
      const args = ["--home", homes[d], "join", first.invite, dirs[d], "--yes", "--listen", `127.0.0.1:${ports[d]}`];
      procs[d] = FsyncProcess.start(args);
      await procs[d]!.waitFor(/In sync:/, 60_000);
    }
    const deadline = Date.now() + SECONDS * 1000;
    while (Date.now() < deadline) {
      ops++;
      for (const d of DEVICES) if (!procs[d] && Date.now() >= downUntil[d]) procs[d] = start(d);
      const d = pick(DEVICES);
      const roll = random();
      if (roll < FILE_OPERATIONS) {
        await files.step(dirs[d], roll, `${d}-op${ops}-${Math.floor(random() * 1e9)}`);
      } else if (roll < 0.9) {
        const victim = pick(DEVICES);
        const proc = procs[victim];
        if (proc) {
          assert.ok(proc.running, `${victim} ended by itself\n${proc.log()}`);
          const kill = random() < 0.5;
          await proc.stop(kill ? "SIGKILL" : "SIGTERM", 30_000);
          ended.push(proc);
          procs[victim] = undefined;
          downUntil[victim] = Date.now() + 500 + random() * 4_000;
          counts[kill ? "kill" : "stop"]++;
        }
      }
      await sleep(random() * 300);
    }
    for (const d of DEVICES) procs[d] ??= start(d);
    const settled = Date.now() + 180_000;
    for (const d of DEVICES.slice(1)) {
      await waitConverged(dirs.a, dirs[d], `a and ${d} after the chaos`, Math.max(settled - Date.now(), 1_000));
    }
    for (const d of DEVICES) await waitNoTempFiles(dirs[d], d);
    assert.deepEqual(await lostWrites(dirs.a, files.last), [], "every last write is at its path or in a copy");
    for (const d of DEVICES) assert.ok(procs[d]!.running, `${d} ended by itself\n${procs[d]!.log()}`);
    for (const proc of [...ended, ...DEVICES.map((d) => procs[d]!)]) {
      assert.doesNotMatch(proc.stderr, /internal error|Uncaught/, proc.log());
    }
    const survived = Object.entries({ ...files.counts, ...counts }).map(([k, n]) => `${n} ${k}`).join(", ");
    console.log(`mesh chaos seed ${SEED}: ${ops} steps survived (${survived}); ${files.last.size} paths checked`);
  } finally {
    for (const d of DEVICES) await procs[d]?.stop("SIGKILL");
    if (Deno.env.get("FSYNC_CHAOS_LOGS")) {
      for (const p of [...ended, ...DEVICES.map((d) => procs[d]).filter((p) => p !== undefined)]) console.log(p.log());
    }
    await Deno.remove(tmp, { recursive: true });
  }
});
