import assert from "node:assert/strict";
import { contentHashOf, type FileInfo, sha256 } from "../model/mod.ts";
import { countNeeds, folderDecider } from "../plan/mod.ts";
import { Store } from "../store/mod.ts";
import { NeedCounts } from "./need_counts.ts";

const SELF = "AAAAAAA";
const PEER = "BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBBBBBB-BBB";

function version(path: string, content: string, counters: Record<string, number>, by: string): FileInfo {
  const blockHashes = sha256(new TextEncoder().encode(content));
  return {
    path,
    type: "file",
    size: content.length,
    mtimeNs: 1_000n,
    mode: 0o644,
    deleted: false,
    version: counters,
    sequence: 0,
    blockSizes: Uint32Array.of(content.length),
    blockHashes,
    contentHash: contentHashOf(blockHashes),
    symlinkTarget: "",
    modifiedBy: by,
    inode: 0,
  };
}

/** A seeded generator (mulberry32): the same seed, the same run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("NeedCounts: after random local and peer writes and policy changes, each answer equals a full count, and the index is walked once per policy", async () => {
  const seed = Number(Deno.env.get("FSYNC_NEEDS_SEED") ?? Date.now() % 100_000);
  const next = random(seed);
  const store = await Store.open(":memory:");
  let walks = 0;
  const spied = new Proxy(store, {
    get(target, name) {
      if (name === "pairWithRemote") walks++;
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const counts = new NeedCounts(spied);
  try {
    const paths = Array.from({ length: 12 }, (_, i) => `dir/f${i}.txt`);
    const local = new Map<string, FileInfo>();
    const remote = new Map<string, FileInfo>();
    let remoteSequence = 0;
    let generation = 0;
    let ignored = "";
    let expectedWalks = 0;
    const policy = () => ({
      decider: folderDecider((path) => ignored !== "" && path.startsWith(ignored), SELF, "send-receive"),
      generation,
    });
    for (let step = 0; step < 120; step++) {
      const path = paths[Math.floor(next() * paths.length)];
      const roll = next();
      const counters = { ...(local.get(path)?.version ?? {}), ...(remote.get(path)?.version ?? {}) };
      if (roll < 0.4) {
        const file = version(path, `local ${step}`, { ...counters, [SELF]: (counters[SELF] ?? 0) + 1 }, SELF);
        local.set(path, (await store.commitLocal("f", [file]))[0]);
      } else if (roll < 0.8) {
        const file = {
          ...version(path, `peer ${step}`, { ...counters, BBBBBBB: (counters.BBBBBBB ?? 0) + 1 }, "BBBBBBB"),
          sequence: ++remoteSequence,
        };
        await store.applyRemote("f", PEER, [file], { indexId: "i", sequence: remoteSequence });
        remote.set(path, file);
      } else if (roll < 0.9) {
        // The pull of that path: the local index takes the peer's version.
        const theirs = remote.get(path);
        if (theirs) local.set(path, (await store.commitLocal("f", [{ ...theirs }]))[0]);
      } else {
        generation++;
        ignored = next() < 0.5 ? "dir/f1" : "";
      }
      if (step % 3 !== 0) continue; // changes pile up between answers too
      const before = walks;
      const got = await counts.needs("f", PEER, policy());
      if (walks > before) expectedWalks++;
      const want = await countNeeds(store.pairWithRemote("f", PEER), policy().decider);
      assert.deepEqual(got, want, `seed ${seed}, step ${step}`);
    }
    assert.ok(expectedWalks <= generation + 1, `walked ${expectedWalks} times for ${generation + 1} policies`);
    await counts.needs("f", PEER, policy()); // settles what the last steps changed
    const before = walks;
    await counts.needs("f", PEER, policy());
    assert.equal(walks, before, `an answer with nothing changed walks nothing (seed ${seed})`);
    await store.resetRemote("f", PEER, "j");
    assert.deepEqual(
      await counts.needs("f", PEER, policy()),
      { files: 0, bytes: 0 },
      "a replaced index is counted again",
    );
  } finally {
    counts.close();
    store.close();
  }
});
