// deno-lint-ignore-file no-console -- the chaos test prints its seed (to replay it) and what it survived.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Fault, FaultProxy } from "../support/fault_proxy.ts";
import { freePort, FsyncProcess, startSharer } from "../support/peer.ts";
import { waitConverged, waitNoTempFiles } from "../support/tree.ts";
import { FILE_OPERATIONS, FileChaos, lostWrites, prng, SEED } from "../support/chaos.ts";

/** Seconds of random operations: a minute in the suite, more with FSYNC_CHAOS_SECONDS. */
const SECONDS = Number(Deno.env.get("FSYNC_CHAOS_SECONDS") ?? 60);

type Side = "a" | "b";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test(`chaos: ${SECONDS} s of random edits, renames and deletions on both sides, kill -9 and restarts, link faults; then identical trees, no temporary file, every path's last write kept (at its path or in a conflict copy)`, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-chaos-" });
  const random = prng(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  console.log(`chaos seed ${SEED} (FSYNC_CHAOS_SEED=${SEED} replays its choices), ${SECONDS} s`);
  const dirs = { a: join(tmp, "a"), b: join(tmp, "b") };
  const homes = { a: join(tmp, "home-a"), b: join(tmp, "home-b") };
  await Deno.mkdir(dirs.a);
  for (let i = 0; i < 20; i++) await Deno.writeTextFile(join(dirs.a, `f${i}.txt`), `seed-${i}\n`);
  const port = freePort();
  const first = await startSharer(dirs.a, homes.a, port);
  const proxy = await FaultProxy.start(port);
  const procs: Record<Side, FsyncProcess | undefined> = {
    a: first.sharer,
    b: FsyncProcess.start([
      "--home",
      homes.b,
      "join",
      first.invite.replace(`:${port}/`, `:${proxy.port}/`),
      dirs.b,
      "--yes",
    ]),
  };
  const start = (side: Side) =>
    side === "a"
      ? FsyncProcess.start(["--home", homes.a, "share", dirs.a, "--listen", `127.0.0.1:${port}`])
      : FsyncProcess.start(["--home", homes.b, "run"]);
  const ended: FsyncProcess[] = [];
  const files = new FileChaos(random, 4);
  const counts = { kill: 0, fault: 0 };
  const downUntil: Record<Side, number> = { a: 0, b: 0 };
  let faultUntil = 0;
  let ops = 0;
  try {
    await procs.b!.waitFor(/In sync:/, 60_000);
    const deadline = Date.now() + SECONDS * 1000;
    while (Date.now() < deadline) {
      ops++;
      for (const side of ["a", "b"] as const) {
        if (!procs[side] && Date.now() >= downUntil[side]) procs[side] = start(side);
      }
      if (faultUntil !== 0 && Date.now() >= faultUntil) {
        proxy.set({ kind: "none" });
        faultUntil = 0;
      }
      const side = pick(["a", "b"] as const);
      const roll = random();
      if (roll < FILE_OPERATIONS) {
        await files.step(dirs[side], roll, `${side}-op${ops}-${Math.floor(random() * 1e9)}`);
      } else if (roll < 0.86) {
        const victim = pick(["a", "b"] as const);
        const proc = procs[victim];
        if (proc) {
          assert.ok(proc.running, `${victim} ended by itself\n${proc.log()}`);
          await proc.stop("SIGKILL");
          ended.push(proc);
          procs[victim] = undefined;
          downUntil[victim] = Date.now() + 500 + random() * 3_500;
          counts.kill++;
        }
      } else if (roll < 0.95 && faultUntil === 0) {
        const faults: Fault[] = [
          { kind: "cut" },
          { kind: "stall" },
          { kind: "slow", bytesPerSecond: 64 << 10 },
          { kind: "cutAfter", bytes: Math.floor(random() * (256 << 10)) },
        ];
        // Lifted by a later step: edits go on meanwhile.
        proxy.set(pick(faults));
        faultUntil = Date.now() + 500 + random() * 4_000;
        counts.fault++;
      }
      await sleep(random() * 300);
    }
    proxy.set({ kind: "none" });
    for (const side of ["a", "b"] as const) procs[side] ??= start(side);
    await waitConverged(dirs.a, dirs.b, "after the chaos", 180_000);
    await waitNoTempFiles(dirs.a, "a");
    await waitNoTempFiles(dirs.b, "b");
    const lost = await lostWrites(dirs.a, files.last);
    assert.deepEqual(lost, [], "every last write of a path is at its path or in a conflict copy of it");
    for (const side of ["a", "b"] as const) {
      const proc = procs[side]!;
      assert.ok(proc.running, `${side} ended by itself\n${proc.log()}`);
    }
    for (const proc of [...ended, procs.a!, procs.b!]) {
      assert.doesNotMatch(proc.stderr, /internal error|Uncaught/, proc.log());
    }
    const survived = Object.entries({ ...files.counts, ...counts }).map(([k, n]) => `${n} ${k}`).join(", ");
    console.log(`chaos seed ${SEED}: ${ops} steps survived (${survived}); ${files.last.size} paths checked`);
  } finally {
    for (const side of ["a", "b"] as const) await procs[side]?.stop("SIGKILL");
    await proxy.close();
    await Deno.remove(tmp, { recursive: true });
  }
});
