import assert from "node:assert/strict";
import { contentHashOf, type FileInfo, sha256 } from "../model/mod.ts";
import { prng } from "../../tests/support/chaos.ts";
import { Store } from "./store.ts";

const PEER = "PEERPEE-RPEERPE-ERPEERP-EERPEER-PEERPEE-RPEERPE-ERPEERP-EER";

function file(path: string, blocks = 1, extra: Partial<FileInfo> = {}): FileInfo {
  const blockHashes = new Uint8Array(blocks * 32).map((_, i) => (i * 13 + path.length) & 0xff);
  return {
    path,
    type: "file",
    size: blocks * 131072,
    mtimeNs: 123_000_000n,
    mode: 0o644,
    deleted: false,
    version: { AAAAAAA: 1 },
    sequence: 0,
    blockSizes: new Uint32Array(blocks).fill(131072),
    blockHashes,
    contentHash: contentHashOf(blockHashes),
    symlinkTarget: "",
    modifiedBy: "AAAAAAA",
    inode: 42,
    ...extra,
  };
}

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const store = await Store.open(":memory:");
  try {
    await fn(store);
  } finally {
    store.close();
  }
}

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}

Deno.test("commitLocal() numbers changes in order and localSince() replays them", () =>
  withStore(async (store) => {
    const stored = await store.commitLocal("f", [file("b"), file("a"), file("c")]);
    assert.deepEqual(stored.map((f) => [f.path, f.sequence]), [["b", 1], ["a", 2], ["c", 3]]);
    await store.commitLocal("f", [file("a", 2)]); // "a" changes again: sequence 4 replaces 2
    assert.deepEqual((await collect(store.localSince("f", 0))).map((f) => [f.path, f.sequence]), [
      ["b", 1],
      ["c", 3],
      ["a", 4],
    ]);
    assert.deepEqual((await collect(store.localSince("f", 3))).map((f) => f.path), ["a"]);
    assert.equal(await store.localSequence("f"), 4);
    assert.equal(await store.localSequence("other"), 0);
  }));

Deno.test("entries round-trip whole, with block lists inline or split across values", async (t) => {
  for (const blocks of [0, 1, 512, 513, 3000, 4096, 12_000]) {
    await t.step(`${blocks} blocks`, () =>
      withStore(async (store) => {
        const [written] = await store.commitLocal("f", [file("big.bin", blocks)]);
        assert.deepEqual(await store.getLocal("f", "big.bin"), written);
        await store.commitLocal("f", [file("big.bin", 1)]); // shrinking drops the extra chunks
        assert.equal((await store.getLocal("f", "big.bin"))!.blockHashes.length, 32);
      }));
  }
});

Deno.test("paths too long for a KV key are stored under a hash and read back", () =>
  withStore(async (store) => {
    const long = Array(12).fill("d".repeat(200)).join("/") + "/file";
    await store.commitLocal("f", [file(long)]);
    assert.equal((await store.getLocal("f", long))?.path, long);
    assert.deepEqual((await collect(store.listLocal("f"))).map((f) => f.path), [long]);
  }));

Deno.test("a large batch of remote entries is split under KV's commit limits", () =>
  withStore(async (store) => {
    const files = Array.from({ length: 2500 }, (_, i) =>
      file(`dir-${i % 50}/some rather long file name ${i}.dat`, 2, { sequence: i + 1 }));
    await store.applyRemote("folder-with-a-long-id", PEER, files, { indexId: "x", sequence: 2500 });
    assert.equal((await collect(store.listRemote("folder-with-a-long-id", PEER))).length, 2500);
    assert.deepEqual(await store.remoteState("folder-with-a-long-id", PEER), { indexId: "x", sequence: 2500 });
    await store.resetRemote("folder-with-a-long-id", PEER, "y");
    assert.equal((await collect(store.listRemote("folder-with-a-long-id", PEER))).length, 0);
    assert.deepEqual(await store.remoteState("folder-with-a-long-id", PEER), { indexId: "y", sequence: 0 });
  }));

Deno.test("pairWithRemote() pairs paths in KV order, parents before children", () =>
  withStore(async (store) => {
    const localPaths = ["a", "a/b", "é", "zz"];
    const remotePaths = ["a", "a.txt", "a/b", "a/c", "日本", "\u{1F600}"];
    await store.commitLocal("f", localPaths.map((p) => file(p)));
    await store.applyRemote("f", PEER, remotePaths.map((p, i) => file(p, 1, { sequence: i + 1 })), {
      indexId: "x",
      sequence: remotePaths.length,
    });
    const pairs = (await collect(store.pairWithRemote("f", PEER))).map((p) =>
      `${p.local?.path ?? "-"}|${p.remote?.path ?? "-"}`
    );
    assert.deepEqual(pairs, ["a|a", "-|a.txt", "a/b|a/b", "-|a/c", "zz|-", "é|-", "-|日本", "-|\u{1F600}"]);
  }));

Deno.test("folders, peers and shares are stored", () =>
  withStore(async (store) => {
    await store.putFolder({ id: "f1", label: "docs", path: "/tmp/docs", indexId: "i1" });
    await store.putPeer({ deviceId: PEER, name: "laptop", address: "10.0.0.2:50051", trusted: true, invitedTo: [] });
    await store.addShare("f1", PEER);
    assert.deepEqual(await store.listFolders(), [{ id: "f1", label: "docs", path: "/tmp/docs", indexId: "i1" }]);
    assert.equal((await store.getPeer(PEER))?.name, "laptop");
    assert.deepEqual(await store.sharesOf("f1"), [PEER]);
  }));

Deno.test("localSince() stays in ascending order, without repeats, while entries change under it", () =>
  withStore(async (store) => {
    const paths = Array.from({ length: 2000 }, (_, i) => `p${String(i).padStart(4, "0")}`);
    await store.commitLocal("f", paths.map((p) => file(p)));
    let writing = true;
    // A concurrent writer re-commits entries (moving them to new sequences) while the index is read.
    const writer = (async () => {
      for (let round = 0; writing && round < 400; round++) {
        await store.commitLocal("f", [file(paths[(round * 7919) % paths.length], 2)]);
      }
    })();
    const seen: number[] = [];
    for await (const f of store.localSince("f", 0)) seen.push(f.sequence);
    writing = false;
    await writer;
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i] > seen[i - 1], `ascending at ${i}: ${seen[i - 1]}, ${seen[i]}`);
    }
    assert.equal(new Set(seen).size, seen.length, "no entry twice");
  }));

Deno.test("the block map finds local blocks by hash, forgets replaced and deleted versions, and spans many commits", async () => {
  await withStore(async (store) => {
    const first = file("docs/a.bin", 3);
    assert.equal(await store.hasBlocks("f"), false, "a new folder holds no block");
    await store.commitLocal("f", [first]);
    assert.equal(await store.hasBlocks("f"), true);
    assert.equal(await store.hasBlocks("other"), false);
    const hash = (f: FileInfo, i: number) => f.blockHashes.subarray(i * 32, i * 32 + 32);
    assert.deepEqual(await store.findBlock("f", hash(first, 2)), [{ path: "docs/a.bin", offset: 2 * 131072 }]);

    // A new version without those blocks, and a copy of the first version elsewhere.
    const changed = { ...first, blockHashes: new Uint8Array(3 * 32).fill(7) };
    await store.commitLocal("f", [changed, { ...first, path: "copy.bin" }]);
    assert.deepEqual(await store.findBlock("f", hash(first, 2)), [{ path: "copy.bin", offset: 2 * 131072 }]);
    assert.equal((await store.findBlock("f", hash(changed, 0))).length, 1, "one entry per distinct hash");

    await store.commitLocal("f", [{ ...first, path: "copy.bin", deleted: true, blockHashes: new Uint8Array() }]);
    assert.deepEqual(await store.findBlock("f", hash(first, 2)), []);
    await store.commitLocal("f", [{ ...changed, deleted: true, blockHashes: new Uint8Array() }]);
    assert.equal(await store.hasBlocks("f"), false, "every file deleted: no block left");

    // 4,000 blocks: more block-map mutations than one KV commit takes.
    const unique = new Uint8Array(4000 * 32);
    for (let i = 0; i < 4000; i++) unique.set(sha256(new Uint8Array(new Uint32Array([i]).buffer)), i * 32);
    const big = file("big.bin", 4000, { blockHashes: unique, contentHash: contentHashOf(unique) });
    await store.commitLocal("f", [big]);
    assert.deepEqual(await store.findBlock("f", hash(big, 3999)), [{ path: "big.bin", offset: 3999 * 131072 }]);
  });
});

Deno.test("remoteSince() yields a peer's entries that came after a sequence, in order, each with its local entry", () =>
  withStore(async (store) => {
    await store.commitLocal("f", [file("b", 1, { version: { BBBBBBB: 1 } })]);
    const batch = (paths: string[], from: number) => paths.map((p, i) => file(p, 1, { sequence: from + i }));
    await store.applyRemote("f", PEER, batch(["c", "a", "b"], 1), { indexId: "x", sequence: 3 });
    await store.applyRemote("f", PEER, batch(["d", "c"], 4), { indexId: "x", sequence: 5 }); // c again, at 5
    const since = async (after: number) =>
      (await collect(store.remoteSince("f", PEER, after))).map((p) =>
        `${p.remote!.path}@${p.remote!.sequence}${p.local ? "+local" : ""}`
      );
    assert.deepEqual(await since(0), ["a@2", "b@3+local", "d@4", "c@5"]); // c's old sequence is gone
    assert.deepEqual(await since(3), ["d@4", "c@5"]);
    assert.deepEqual(await since(5), []);
    const many = Array.from({ length: 350 }, (_, i) => `m${i}`);
    await store.applyRemote("f", PEER, batch(many, 6), { indexId: "x", sequence: 355 });
    assert.deepEqual((await since(5)).length, 350, "past one read batch");
    await store.resetRemote("f", PEER, "y");
    assert.deepEqual(await since(0), []);
  }));

Deno.test("remoteAfter() yields the pairs remoteSince() yields, listing both indexes when the pass is most of them", () =>
  withStore(async (store) => {
    const random = prng(17);
    const paths = Array.from({ length: 60 }, (_, i) => `d${i % 7}/f${i}`);
    for (const p of paths.slice(0, 20)) {
      await store.commitLocal("f", [file(p, 1, { version: { BBBBBBB: 1 } })]);
    }
    await store.resetRemote("f", PEER, "x"); // a new index: its entries are counted from here
    let sequence = 0;
    const peerPaths = new Set<string>();
    const ways = { listed: 0, bySequence: 0 };
    const key = (p: { local?: FileInfo; remote?: FileInfo }) =>
      `${p.remote!.path}@${p.remote!.sequence}${p.local ? `+${p.local.sequence}` : ""}`;
    for (let round = 0; round < 12; round++) {
      // A batch of the peer's index: paths at random, some again (a later sequence replaces the earlier).
      const batch = [
        ...new Set(Array.from({ length: 1 + Math.floor(random() * 15) }, () => paths[Math.floor(random() * 60)])),
      ]
        .map((p) => file(p, 1, { sequence: ++sequence, deleted: random() < 0.1 }));
      await store.applyRemote("f", PEER, batch, { indexId: "x", sequence });
      for (const f of batch) peerPaths.add(f.path);
      for (const after of [0, Math.floor(sequence / 3), Math.floor(sequence * 0.8), sequence]) {
        const since = (await collect(store.remoteSince("f", PEER, after))).map(key).sort();
        const pairs = await collect(store.remoteAfter("f", PEER, after));
        assert.deepEqual(pairs.map(key).sort(), since, `round ${round}, after ${after}`);
        if (pairs.length < 2) continue;
        // Listed when the sequences after `after` are more than half of the peer's entries and
        // the local sequence (20): then in path order, else in the peer's sequence order.
        if (sequence - after > (peerPaths.size + 20) / 2) {
          const paths = pairs.map((p) => p.remote!.path);
          assert.deepEqual(paths, [...paths].sort(), `round ${round}, after ${after}: listed in path order`);
          ways.listed++;
        } else {
          const sequences = pairs.map((p) => p.remote!.sequence);
          assert.deepEqual(
            sequences,
            [...sequences].sort((a, b) => a - b),
            `round ${round}, after ${after}: by sequence`,
          );
          ways.bySequence++;
        }
      }
    }
    assert.ok(ways.listed > 0 && ways.bySequence > 0, `both ways taken: ${JSON.stringify(ways)}`);
  }));

Deno.test("remoteSince() takes a peer's entries just stored from memory, the rest from KV, and yields what KV alone yields", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fsync-store-" });
  const writer = await Store.open(`${dir}/index.kv`);
  // A spy on the writer's reads of the peer's entries.
  const kv = (writer as unknown as { kv: Deno.Kv }).kv;
  const getMany = kv.getMany.bind(kv);
  let peerReads = 0;
  kv.getMany = ((keys: Deno.KvKey[]) => {
    if (keys.some((k) => k[0] === "file" && k[2] === PEER)) peerReads++;
    return getMany(keys);
  }) as typeof kv.getMany;
  try {
    const random = prng(23);
    const paths = Array.from({ length: 500 }, (_, i) => `d${i % 9}/f${i}`);
    await writer.commitLocal("f", paths.slice(0, 80).map((p) => file(p, 1, { version: { BBBBBBB: 1 } })));
    await writer.resetRemote("f", PEER, "x");
    let sequence = 0;
    for (let round = 0; round < 8; round++) {
      // Paths at random, some again (a later sequence replaces the earlier); over the rounds,
      // more than memory keeps.
      const batch = [
        ...new Set(Array.from({ length: 1 + Math.floor(random() * 400) }, () => paths[Math.floor(random() * 500)])),
      ].map((p) => file(p, 1 + Math.floor(random() * 3), { sequence: ++sequence, deleted: random() < 0.1 }));
      await writer.applyRemote("f", PEER, batch, { indexId: "x", sequence });
      peerReads = 0;
      const justStored = await collect(writer.remoteSince("f", PEER, sequence - batch.length));
      assert.deepEqual(justStored.map((p) => p.remote), batch, `round ${round}: the batch, as stored`);
      assert.equal(peerReads, 0, `round ${round}: the batch just stored is not read back`);
      const reader = await Store.open(`${dir}/index.kv`); // KV alone
      try {
        for (const after of [0, Math.floor(sequence / 2), sequence - batch.length, sequence]) {
          assert.deepEqual(
            await collect(writer.remoteSince("f", PEER, after)),
            await collect(reader.remoteSince("f", PEER, after)),
            `round ${round}, after ${after}`,
          );
        }
      } finally {
        reader.close();
      }
    }
    await writer.resetRemote("f", PEER, "y");
    await writer.applyRemote("f", PEER, [file("new", 1, { sequence: 1 })], { indexId: "y", sequence: 1 });
    assert.deepEqual((await collect(writer.remoteSince("f", PEER, 0))).map((p) => p.remote!.path), ["new"]);
  } finally {
    writer.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("overlapping writes of one peer's index land one after the other, in the order called", () =>
  withStore(async (store) => {
    await store.resetRemote("f", PEER, "x");
    // The first takes several commits; the second, one commit, changes paths of the first's last.
    const first = Array.from({ length: 600 }, (_, i) => file(`p${String(i).padStart(3, "0")}`, 1, { sequence: i + 1 }));
    const second = first.slice(590, 595).map((f, i) => ({ ...f, sequence: 601 + i, version: { AAAAAAA: 2 } }));
    await Promise.all([
      store.applyRemote("f", PEER, first, { indexId: "x", sequence: 600 }),
      store.applyRemote("f", PEER, second, { indexId: "x", sequence: 605 }),
    ]);
    const expected = [...first.slice(0, 590), ...first.slice(595), ...second];
    assert.deepEqual((await collect(store.remoteSince("f", PEER, 0))).map((p) => p.remote), expected);
    assert.equal((await store.remoteState("f", PEER)).sequence, 605);
  }));

Deno.test("localSummary() counts once, then every local commit keeps it equal to a recount", () =>
  withStore(async (store) => {
    const recount = async () => {
      const summary = { files: 0, bytes: 0, conflicts: 0 };
      for await (const f of store.listLocal("f")) {
        if (f.deleted) continue;
        if (f.path.includes(".sync-conflict-")) summary.conflicts++;
        if (f.type === "file") (summary.files++, summary.bytes += f.size);
      }
      return summary;
    };
    // First asked while a commit is under way: counted after it, not in the middle of it.
    const commit = store.commitLocal("f", [file("a"), file("b", 2)]);
    const first = store.localSummary("f");
    await commit;
    assert.deepEqual(await first, await recount());
    const conflict = "a.sync-conflict-20261124-090507-ABCDEFG";
    const steps: FileInfo[][] = [
      [file("c", 3), file(conflict)],
      [file("a", 5)], // grows
      [{ ...file("b"), deleted: true, size: 0, blockHashes: new Uint8Array() }],
      [{ ...file("d"), type: "directory", size: 0, blockHashes: new Uint8Array() }],
      [{ ...file(conflict), deleted: true }],
      [file("b", 1)], // back
    ];
    for (const step of steps) {
      await store.commitLocal("f", step);
      assert.deepEqual(await store.localSummary("f"), await recount());
    }
    assert.deepEqual(await store.localSummary("f"), { files: 3, bytes: 9 * 131072, conflicts: 0 });
  }));

Deno.test("onIndexChange() names the paths of each local and remote write, and a replaced remote index", () =>
  withStore(async (store) => {
    const seen: [string, string, readonly string[] | undefined][] = [];
    const stop = store.onIndexChange((folderId, owner, paths) => seen.push([folderId, owner, paths]));
    await store.commitLocal("f", [file("a"), file("b")]);
    await store.applyRemote("f", PEER, [{ ...file("c"), sequence: 1 }], { indexId: "i", sequence: 1 });
    await store.resetRemote("f", PEER, "j");
    stop();
    await store.commitLocal("f", [file("z")]);
    assert.deepEqual(seen, [["f", "local", ["a", "b"]], ["f", PEER, ["c"]], ["f", PEER, undefined]]);
  }));

Deno.test("a clean pull's mark is kept, forgotten on request, and dropped with the peer's index", () =>
  withStore(async (store) => {
    assert.equal(await store.getPulled("f", PEER), undefined);
    const mark = { indexId: "i", sequence: 7, policy: "p" };
    await store.setPulled("f", PEER, mark);
    assert.deepEqual(await store.getPulled("f", PEER), mark);
    await store.setPulled("f", PEER, undefined);
    assert.equal(await store.getPulled("f", PEER), undefined);
    await store.setPulled("f", PEER, mark);
    await store.resetRemote("f", PEER, "j");
    assert.equal(await store.getPulled("f", PEER), undefined, "a new index of the peer starts from nothing");
  }));

Deno.test("entries stored with fixed-size blocks (before content-defined ones) load with those blocks' sizes", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/kv`;
  try {
    const size = 1500 * 131072 - 5;
    const small = file("small.bin", 3, { size: 3 * 131072 - 7 });
    const big = file("big.bin", 1500, { size });
    const kv = await Deno.openKv(path);
    const { blockSizes: _, ...smallRest } = small;
    await kv.set(["file", "f", "local", "small.bin"], { ...smallRest, blockSize: 131072, hashChunks: 0 });
    const { blockSizes: __, blockHashes, ...bigRest } = big;
    await kv.set(["file", "f", "local", "big.bin"], { ...bigRest, blockSize: 131072, hashChunks: 2 });
    await kv.set(["hashes", "f", "local", "big.bin", 0], blockHashes.slice(0, 32 * 1024));
    await kv.set(["hashes", "f", "local", "big.bin", 1], blockHashes.slice(32 * 1024));
    kv.close();
    const store = await Store.open(path);
    try {
      const fixed = (count: number, last: number) => new Uint32Array(count).fill(131072).fill(last, count - 1);
      assert.deepEqual(await store.getLocal("f", "small.bin"), { ...small, blockSizes: fixed(3, 131072 - 7) });
      assert.deepEqual(await store.getLocal("f", "big.bin"), { ...big, blockSizes: fixed(1500, 131072 - 5) });
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("localSince() answers from the latest commits as KV does: in sequence order, each path at its latest (property)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/index.kv`;
    const writer = await Store.open(path);
    const reader = await Store.open(path); // commits nothing: reads KV alone
    try {
      const next = prng(3);
      const random = (n: number) => Math.floor(next() * n);
      const names = ["a", "b", "c", "d/e", "d/f", "g"];
      for (let commit = 0; commit < 2_500; commit++) {
        // Mostly a few small entries; now and then a file of 700 blocks (its list in chunks) or a burst.
        const batch = Array.from({ length: 1 + random(commit % 97 === 0 ? 300 : 4) }, () => {
          const name = names[random(names.length)] + (random(3) === 0 ? `-${random(5_000)}` : "");
          return file(name, random(50) === 0 ? 700 : 1, { deleted: random(8) === 0, mtimeNs: BigInt(commit) });
        });
        await writer.commitLocal("f", batch);
        if (commit % 500 !== 499) continue;
        const last = await writer.localSequence("f");
        // Every 173rd sequence back to beyond what is kept in memory (4,096 entries or 4 MiB).
        for (let after = last; after >= Math.max(0, last - 6_000); after -= 173) {
          const fromMemory = await Array.fromAsync(writer.localSince("f", after));
          const fromKv = await Array.fromAsync(reader.localSince("f", after));
          const described = (files: FileInfo[]) => files.map(describeEntry).join("\n");
          assert.equal(described(fromMemory), described(fromKv), `after ${after} of ${last}`);
        }
      }
    } finally {
      writer.close();
      reader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** An entry's fields as one line: every field, block lists by their bytes. */
function describeEntry(f: FileInfo): string {
  const bytes = (a: Uint8Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).join(",");
  const { blockHashes, blockSizes, contentHash, mtimeNs, ...rest } = f;
  return `${JSON.stringify(rest)} ${mtimeNs} ${bytes(contentHash)} ${bytes(blockHashes)} ${bytes(blockSizes)}`;
}

Deno.test("a commit that names a path twice records the last entry given for it, once", () =>
  withStore(async (store) => {
    await store.commitLocal("f", [file("a", 700, { mtimeNs: 1n }), file("b"), file("a", 600, { mtimeNs: 2n })]);
    const a = await store.getLocal("f", "a");
    assert.equal(a?.mtimeNs, 2n);
    assert.equal(a?.blockHashes.length, 600 * 32);
    assert.deepEqual((await Array.fromAsync(store.localSince("f", 0))).map((f) => [f.path, f.sequence]), [
      ["a", 1],
      ["b", 2],
    ]);
    assert.equal(await store.localSequence("f"), 2);
  }));
