import assert from "node:assert/strict";
import { join } from "node:path";
import { generateTree } from "../support/gen_tree.ts";
import { type Fault, FaultProxy } from "../support/fault_proxy.ts";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { diffTrees, findTempFiles, snapshotTree, waitConverged, waitNoTempFiles } from "../support/tree.ts";

const MiB = 1 << 20;
/**
 * Longer than the transport's keepalive (a ping every 20 s, 10 s for its answer): a stalled
 * link must be noticed and replaced, not waited for.
 */
const STALL_MS = 35_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A sharer of `tmp/a` holding 20-200 small files and one large file of `largeBytes`, behind a
 * proxy that starts at `bytesPerSecond`, and `fsync join ... tmp/b --yes` (and `joinArgs`)
 * dialling through it, once it has accepted the offer. Disposing stops all three.
 */
async function joinThroughProxy(tmp: string, largeBytes: number, bytesPerSecond: number, joinArgs: string[] = []) {
  const a = join(tmp, "a");
  const b = join(tmp, "b");
  await Deno.mkdir(a);
  await generateTree(a, { smallFiles: 200, maxSmallBytes: 4096, largeFiles: [largeBytes], seed: largeBytes });
  const { sharer, port, invite } = await startSharer(a, join(tmp, "home-a"));
  const proxy = await FaultProxy.start(port);
  proxy.set({ kind: "slow", bytesPerSecond });
  const viaProxy = invite.replace(`:${port}/`, `:${proxy.port}/`);
  const joiner = FsyncProcess.start(["--home", join(tmp, "home-b"), "join", viaProxy, b, "--yes", ...joinArgs]);
  const pair = {
    a,
    b,
    sharer,
    proxy,
    joiner,
    async [Symbol.asyncDispose]() {
      await joiner.stop("SIGKILL");
      await proxy.close();
      await sharer.stop("SIGKILL");
    },
  };
  try {
    await joiner.waitFor(/Joining/);
  } catch (e) {
    await pair[Symbol.asyncDispose]();
    throw e;
  }
  return pair;
}

/** Neither log holds a bug report, an uncaught error or a stack trace. */
function assertNoBug(...processes: FsyncProcess[]): void {
  for (const p of processes) assert.doesNotMatch(p.stderr, /internal error|Uncaught|^\s+at /m, p.log());
}

Deno.test("initial sync of a large file through a link that is slowed, cut and cut after 2 MiB: join --once ends with exit 0 and an identical tree", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-faults-pull-" });
  try {
    await using pair = await joinThroughProxy(tmp, 48 * MiB, 4 * MiB, ["--once"]);
    const { a: src, b: dst, sharer, proxy, joiner } = pair;
    const steps: [Fault, number][] = [
      [{ kind: "slow", bytesPerSecond: 4 * MiB }, 2_000],
      [{ kind: "cut" }, 1_000],
      [{ kind: "cutAfter", bytes: 2 * MiB }, 4_000],
    ];
    for (const [fault, ms] of steps) {
      proxy.set(fault);
      await sleep(ms);
      assert.ok(joiner.running, `the joiner ended during ${fault.kind}\n${joiner.log()}`);
    }
    proxy.set({ kind: "none" });
    assert.equal(await joiner.exit(120_000), 0, joiner.log());
    assert.deepEqual(diffTrees(await snapshotTree(src), await snapshotTree(dst)), []);
    assert.deepEqual(await findTempFiles(dst), []);
    assert.ok(proxy.accepted >= 3, `reconnected through the proxy (${proxy.accepted} connections)`);
    assertNoBug(joiner, sharer);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a large pull stalled, then bursts of small changes on both sides during a cut, cuts after 16 KiB, a slow link and a stall: all converge once each fault is lifted, and both processes keep running", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-faults-live-" });
  try {
    // The large pull, slowed to last, stalls with blocks in flight; then it is let go.
    await using pair = await joinThroughProxy(tmp, 64 * MiB, 8 * MiB);
    const { a, b, sharer, proxy, joiner } = pair;
    await sleep(2_000);
    proxy.set({ kind: "stall" });
    await sleep(STALL_MS);
    proxy.set({ kind: "none" });
    await waitConverged(a, b, "the large pull", 90_000);
    const faults: [Fault, number][] = [
      [{ kind: "cut" }, 2_000],
      [{ kind: "cutAfter", bytes: 16 << 10 }, 3_000],
      [{ kind: "slow", bytesPerSecond: 64 << 10 }, 3_000],
      [{ kind: "stall" }, STALL_MS],
    ];
    for (const [fault, ms] of faults) {
      proxy.set(fault);
      // The burst: new files on both sides, edits on one, a deletion on the other, 0-20 ms apart.
      for (let i = 0; i < 15; i++) {
        await Deno.writeTextFile(join(a, `${fault.kind}-a-${i}.txt`), `${fault.kind} a ${i}\n`.repeat(i + 1));
        await Deno.writeTextFile(join(b, `${fault.kind}-b-${i}.txt`), `${fault.kind} b ${i}\n`.repeat(i + 1));
        if (i < 5) await Deno.writeTextFile(join(a, `small-${i}.txt`), `edited during ${fault.kind}\n`);
        if (i === 10) await Deno.remove(join(b, `${fault.kind}-b-3.txt`));
        await sleep(Math.floor(Math.random() * 20));
      }
      await sleep(ms);
      proxy.set({ kind: "none" });
      await waitConverged(a, b, `after ${fault.kind}`, 90_000);
      // Over 60 s (the block timeout) after the first stall by the end: timers left by it would have fired.
      assert.ok(
        sharer.running && joiner.running,
        `a process ended after ${fault.kind}\n${sharer.log()}\n${joiner.log()}`,
      );
    }
    await waitNoTempFiles(a, "the sharer");
    await waitNoTempFiles(b, "the joiner");
    assertNoBug(joiner, sharer);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
