import assert from "node:assert/strict";
import { join } from "node:path";
import { blockBuffers, blockCount, blockHash, blockLength, type FileInfo, mtimeNsOf, sha256 } from "../model/mod.ts";
import { BlockMismatchError, ChangedLocallyError, DiskFullError } from "./errors.ts";
import { applyDecision, tempPathFor } from "./puller.ts";
import { TempLedger } from "./temp_ledger.ts";
import { denoFs } from "../fs/mod.ts";
import { findTempFiles } from "../../tests/support/tree.ts";
import { FaultyFs } from "../../tests/support/faulty_fs.ts";
import {
  BLOCK,
  describe,
  FailingSource,
  inTempDir,
  localEntry,
  MemorySource,
  options,
  pattern,
} from "./_puller_fixtures.ts";

Deno.test("fetch writes a verified file with its mode and mtime, through a temporary file", () =>
  inTempDir(async (root) => {
    const data = pattern(3 * BLOCK + 17, 1);
    const remote = describe("sub/new.bin", data, { PEER000: 1 });
    const [entry] = await applyDecision(options(root, new MemorySource(data)), {
      action: "fetch",
      file: remote,
      keepLocalAsConflict: false,
    }, undefined);
    assert.deepEqual(await Deno.readFile(join(root, "sub/new.bin")), data);
    const st = await Deno.stat(join(root, "sub/new.bin"));
    assert.equal((st.mode ?? 0) & 0o777, 0o640);
    assert.equal(mtimeNsOf(st.mtime), remote.mtimeNs);
    assert.equal(entry.inode, st.ino);
    assert.deepEqual([...Deno.readDirSync(join(root, "sub"))].map((e) => e.name), ["new.bin"]);
  }));

/** Writes `old` as f.bin (indexed here), then pulls the peer's `changed` version of it; returns the peer. */
async function pullChange(root: string, old: Uint8Array, changed: Uint8Array): Promise<MemorySource> {
  await Deno.writeFile(join(root, "f.bin"), old);
  const local = await localEntry(root, describe("f.bin", old, { ME00000: 1 }));
  const source = new MemorySource(changed);
  await applyDecision(options(root, source), {
    action: "fetch",
    file: describe("f.bin", changed, { ME00000: 1, PEER000: 1 }),
    keepLocalAsConflict: false,
  }, local);
  return source;
}

Deno.test("blocks the old version already has are copied locally, not fetched", () =>
  inTempDir(async (root) => {
    const old = pattern(8 * BLOCK, 2);
    const changed = old.slice();
    changed.fill(0xee, 5 * BLOCK + 10, 5 * BLOCK + 20); // one block differs
    const source = await pullChange(root, old, changed);
    assert.deepEqual(source.requested.map((w) => w.offset), [5 * BLOCK]);
    assert.deepEqual(await Deno.readFile(join(root, "f.bin")), changed);
  }));

Deno.test("an interrupted pull resumes from the verified blocks of its temporary file", () =>
  inTempDir(async (root) => {
    const data = pattern(6 * BLOCK, 3);
    const remote = describe("big.bin", data, { PEER000: 1 });
    const temp = tempPathFor(join(root, "big.bin"), remote);
    const partial = data.slice(0, 4 * BLOCK);
    partial[3 * BLOCK + 1] ^= 0xff; // the 4th block was torn by the crash
    await Deno.writeFile(temp, partial);
    const source = new MemorySource(data);
    await applyDecision(
      options(root, source),
      { action: "fetch", file: remote, keepLocalAsConflict: false },
      undefined,
    );
    assert.deepEqual(source.requested.map((w) => [w.offset / BLOCK, w.size / BLOCK]), [[3, 3]]);
    assert.deepEqual(await Deno.readFile(join(root, "big.bin")), data);
  }));

Deno.test("runs of missing blocks are asked for in requests of up to 1 MiB", () =>
  inTempDir(async (root) => {
    const old = pattern(20 * BLOCK + 100, 6);
    const changed = pattern(20 * BLOCK + 100, 7);
    changed.set(old.subarray(9 * BLOCK, 10 * BLOCK), 9 * BLOCK); // block 9 is still there
    const source = await pullChange(root, old, changed);
    const requested = source.requested.map((w) => [w.offset / BLOCK, w.size]).sort((a, b) => a[0] - b[0]);
    assert.deepEqual(requested, [[0, 8 * BLOCK], [8, BLOCK], [10, 8 * BLOCK], [18, 2 * BLOCK + 100]]);
    assert.deepEqual(
      source.requested.map((w) => w.hash),
      requested.map(([i]) => blockHash(describe("", changed, {}), i)),
    );
    assert.deepEqual(await Deno.readFile(join(root, "f.bin")), changed);
  }));

Deno.test("fetched data in pooled buffers goes back to the pool once written, and the file is intact", () =>
  inTempDir(async (root) => {
    const data = pattern(3 * (1 << 20), 12);
    const source = new MemorySource(data);
    const handedOut = new Set<ArrayBufferLike>();
    source.fetchBlock = (want) => {
      const out = blockBuffers.take(want.size);
      out.set(data.subarray(want.offset, want.offset + want.size));
      handedOut.add(out.buffer);
      return Promise.resolve(out);
    };
    await applyDecision(options(root, source), {
      action: "fetch",
      file: describe("f.bin", data, { PEER000: 1 }),
      keepLocalAsConflict: false,
    }, undefined);
    assert.deepEqual(await Deno.readFile(join(root, "f.bin")), data);
    assert.equal(handedOut.size, 3);
    const again = [blockBuffers.take(1 << 20), blockBuffers.take(1 << 20), blockBuffers.take(1 << 20)];
    assert.ok(again.every((b) => handedOut.has(b.buffer)), "the pool hands the three out again");
  }));

Deno.test("free space is read once for files pulled together onto one disk, whatever their directory, and again before refusing one", () =>
  inTempDir(async (root) => {
    let free = 3 * BLOCK;
    let reads = 0;
    const fs = { ...denoFs, freeBytes: () => (reads++, free) };
    const pull = (name: string, seed: number, blocks = 1) => {
      const data = pattern(blocks * BLOCK, seed);
      return applyDecision(options(root, new MemorySource(data), new TempLedger(fs), fs), {
        action: "fetch",
        file: describe(name, data, { PEER000: 1 }),
        keepLocalAsConflict: false,
      }, undefined);
    };
    await pull("a", 1);
    await pull("x/b", 2);
    await pull("y/c", 3);
    // Once, or twice if a second passed between them (a loaded machine): not once per file or directory.
    assert.ok(reads < 3, `free space read ${reads} times for 3 files`);
    const before = reads;
    await pull("d", 4); // the estimate is spent: read again, and it fits
    assert.equal(reads, before + 1);
    free = BLOCK - 1;
    await assert.rejects(pull("e", 5, 3), (e) => e instanceof DiskFullError && e.message.includes("free"));
    assert.equal(reads, before + 2, "a refusal reads again");
    await assert.rejects(Deno.stat(join(root, "e")), Deno.errors.NotFound);
  }));

Deno.test("one bad block inside a multi-block answer rejects the answer", () =>
  inTempDir(async (root) => {
    const data = pattern(4 * BLOCK, 8);
    const source = new MemorySource(data);
    const fetchBlock = source.fetchBlock.bind(source);
    source.fetchBlock = async (want) => {
      const out = await fetchBlock(want);
      out[2 * BLOCK + 5] ^= 1; // the third block of the four
      return out;
    };
    await assert.rejects(
      applyDecision(options(root, source), {
        action: "fetch",
        file: describe("f.bin", data, { PEER000: 1 }),
        keepLocalAsConflict: false,
      }, undefined),
      (e) => e instanceof BlockMismatchError && e.message.includes(`offset ${2 * BLOCK}`),
    );
    await assert.rejects(Deno.stat(join(root, "f.bin")), Deno.errors.NotFound);
  }));

Deno.test("a block that does not match its hash is rejected and the target is left alone", () =>
  inTempDir(async (root) => {
    await Deno.writeTextFile(join(root, "f.txt"), "precious");
    const local = await localEntry(root, describe("f.txt", new TextEncoder().encode("precious"), { ME00000: 1 }));
    const forged = pattern(1000, 4);
    await assert.rejects(
      applyDecision(options(root, new MemorySource(forged, true)), {
        action: "fetch",
        file: describe("f.txt", forged, { ME00000: 1, PEER000: 1 }),
        keepLocalAsConflict: false,
      }, local),
      BlockMismatchError,
    );
    assert.equal(await Deno.readTextFile(join(root, "f.txt")), "precious");
  }));

Deno.test("a conflict keeps the local content under a conflict name", () =>
  inTempDir(async (root) => {
    await Deno.writeTextFile(join(root, "notes.txt"), "mine");
    const local = await localEntry(
      root,
      describe("notes.txt", new TextEncoder().encode("mine"), { ME00000: 1 }, { modifiedBy: "ME00000" }),
    );
    const theirs = new TextEncoder().encode("theirs");
    const [entry, copy] = await applyDecision(options(root, new MemorySource(theirs)), {
      action: "fetch",
      file: describe("notes.txt", theirs, { ME00000: 1, PEER000: 1 }),
      keepLocalAsConflict: true,
    }, local);
    assert.equal(entry.path, "notes.txt");
    assert.equal(copy.path, "notes.sync-conflict-20261124-120000-ME00000.txt");
    assert.deepEqual(copy.version, { ME00000: 1 });
    assert.equal(await Deno.readTextFile(join(root, "notes.txt")), "theirs");
    assert.equal(await Deno.readTextFile(join(root, copy.path)), "mine");
  }));

Deno.test("a target the user changed during the pull is not overwritten", () =>
  inTempDir(async (root) => {
    await Deno.writeTextFile(join(root, "f.txt"), "v1");
    const local = await localEntry(root, describe("f.txt", new TextEncoder().encode("v1"), { ME00000: 1 }));
    await Deno.writeTextFile(join(root, "f.txt"), "v1 edited by the user");
    const next = new TextEncoder().encode("v2");
    await assert.rejects(
      applyDecision(options(root, new MemorySource(next)), {
        action: "fetch",
        file: describe("f.txt", next, { ME00000: 1, PEER000: 1 }),
        keepLocalAsConflict: false,
      }, local),
      ChangedLocallyError,
    );
    assert.equal(await Deno.readTextFile(join(root, "f.txt")), "v1 edited by the user");
  }));

Deno.test("a new file is linked into place: a file that appeared at its path after the check is kept, the pull fails", () =>
  inTempDir(async (root) => {
    const data = pattern(BLOCK + 5, 2);
    const remote = describe("new.bin", data, { PEER000: 1 });
    // The user's file appears at the last moment: just before the link.
    const fs = new class extends FaultyFs {
      override linkSync(from: string, to: string): void {
        Deno.writeTextFileSync(to, "the user's");
        super.linkSync(from, to);
      }
    }();
    await assert.rejects(
      applyDecision(options(root, new MemorySource(data), new TempLedger(fs), fs), {
        action: "fetch",
        file: remote,
        keepLocalAsConflict: false,
      }, undefined),
      ChangedLocallyError,
    );
    assert.equal(await Deno.readTextFile(join(root, "new.bin")), "the user's");
    assert.ok(fs.calls.some((c) => c.op === "link") && !fs.calls.some((c) => c.op === "rename"));
  }));

Deno.test("on a file system without hard links (link fails with EPERM) a new file is renamed into place", () =>
  inTempDir(async (root) => {
    const data = pattern(2 * BLOCK + 9, 3);
    const fs = new FaultyFs().inject({ op: "link", kind: "EPERM" });
    const [entry] = await applyDecision(options(root, new MemorySource(data), new TempLedger(fs), fs), {
      action: "fetch",
      file: describe("d/new.bin", data, { PEER000: 1 }),
      keepLocalAsConflict: false,
    }, undefined);
    assert.deepEqual(await Deno.readFile(join(root, "d/new.bin")), data);
    assert.equal(entry.inode, (await Deno.stat(join(root, "d/new.bin"))).ino);
    assert.deepEqual(await findTempFiles(root), []);
    assert.ok(fs.calls.some((c) => c.op === "rename"));
  }));

Deno.test("a temporary name that cannot be removed after the link leaves the new file in place, complete", () =>
  inTempDir(async (root) => {
    const data = pattern(BLOCK + 11, 5);
    const remote = describe("f.bin", data, { PEER000: 1 });
    const temp = tempPathFor(join(root, "f.bin"), remote);
    const fs = new FaultyFs().inject({ op: "remove", path: temp, kind: "EIO" });
    const [entry] = await applyDecision(options(root, new MemorySource(data), new TempLedger(fs), fs), {
      action: "fetch",
      file: remote,
      keepLocalAsConflict: false,
    }, undefined);
    assert.deepEqual(await Deno.readFile(join(root, "f.bin")), data);
    const st = await Deno.stat(join(root, "f.bin"));
    assert.equal(entry.inode, st.ino);
    assert.equal(st.nlink, 2, "the temporary name is left for the next scan");
    assert.ok(fs.calls.some((c) => c.op === "remove" && c.path === temp));
  }));

Deno.test("a temporary file that is another name of some file (a link left by a failed removal) is not written through", () =>
  inTempDir(async (root) => {
    const data = pattern(BLOCK + 3, 4);
    const remote = describe("f.bin", data, { PEER000: 1 });
    await Deno.writeTextFile(join(root, "other.txt"), "someone else's bytes");
    await Deno.link(join(root, "other.txt"), tempPathFor(join(root, "f.bin"), remote));
    await applyDecision(options(root, new MemorySource(data)), {
      action: "fetch",
      file: remote,
      keepLocalAsConflict: false,
    }, undefined);
    assert.deepEqual(await Deno.readFile(join(root, "f.bin")), data);
    assert.equal(await Deno.readTextFile(join(root, "other.txt")), "someone else's bytes");
    assert.equal((await Deno.stat(join(root, "other.txt"))).nlink, 1);
  }));

Deno.test("delete removes an unchanged file and keeps a non-empty directory", () =>
  inTempDir(async (root) => {
    await Deno.writeTextFile(join(root, "old.txt"), "bye");
    const local = await localEntry(root, describe("old.txt", new TextEncoder().encode("bye"), { ME00000: 1 }));
    const [tomb] = await applyDecision(options(root, new MemorySource(new Uint8Array())), {
      action: "delete",
      file: { ...local, deleted: true, version: { ME00000: 1, PEER000: 1 } },
    }, local);
    assert.equal(tomb.deleted, true);
    await assert.rejects(Deno.stat(join(root, "old.txt")), Deno.errors.NotFound);
    await Deno.mkdir(join(root, "d"));
    await Deno.writeTextFile(join(root, "d/unknown.txt"), "not in the index");
    const dir = { ...local, path: "d", type: "directory" as const, size: 0 };
    await assert.rejects(
      applyDecision(options(root, new MemorySource(new Uint8Array())), {
        action: "delete",
        file: { ...dir, deleted: true },
      }, dir),
      ChangedLocallyError,
    );
    assert.equal(await Deno.readTextFile(join(root, "d/unknown.txt")), "not in the index");
  }));

Deno.test("blockCount/blockHash/blockLength describe a file's blocks", () => {
  const data = pattern(2 * BLOCK + 5, 5);
  const f = describe("x", data, {});
  assert.equal(blockCount(f), 3);
  assert.equal(blockLength(f, 2), 5);
  assert.deepEqual(blockHash(f, 2), sha256(data.subarray(2 * BLOCK)));
});

/** Root's temporary directory with the folder in `folder/` and files outside it beside. */
async function inFolderWithOutside(fn: (tmp: string, root: string) => Promise<void>): Promise<void> {
  await inTempDir(async (tmp) => {
    const root = join(tmp, "folder");
    await Deno.mkdir(root);
    await fn(tmp, root);
  });
}

Deno.test("a peer's metadata change to a hard-linked file replaces the file and leaves the other link alone", () =>
  inFolderWithOutside(async (tmp, root) => {
    const data = new TextEncoder().encode("shared inode");
    const outside = join(tmp, "outside.txt");
    await Deno.writeFile(outside, data, { mode: 0o600 });
    await Deno.chmod(outside, 0o600);
    const before = await Deno.stat(outside);
    await Deno.link(outside, join(root, "linked.txt"));
    const local = await localEntry(root, describe("linked.txt", data, { ME00000: 1 }));
    const remote = describe("linked.txt", data, { ME00000: 1, PEER000: 1 }, { mode: 0o777 });
    const source = new MemorySource(data);
    const [entry] = await applyDecision(options(root, source), { action: "update-metadata", file: remote }, local);
    const after = await Deno.stat(outside);
    assert.equal((after.mode ?? 0) & 0o7777, 0o600, "the outside file keeps its mode");
    assert.equal(after.mtime?.getTime(), before.mtime?.getTime(), "and its mtime");
    assert.equal(after.nlink, 1, "and is no longer linked into the folder");
    assert.deepEqual(await Deno.readFile(outside), data);
    const inside = await Deno.stat(join(root, "linked.txt"));
    assert.equal((inside.mode ?? 0) & 0o7777, 0o777);
    assert.equal(mtimeNsOf(inside.mtime), remote.mtimeNs);
    assert.deepEqual(await Deno.readFile(join(root, "linked.txt")), data);
    assert.notEqual(inside.ino, before.ino);
    assert.equal(entry.inode, inside.ino);
    assert.deepEqual(source.requested, [], "rebuilt from the local blocks");
  }));

Deno.test("a peer's metadata change to a file with one link is made in place", () =>
  inTempDir(async (root) => {
    const data = new TextEncoder().encode("alone");
    await Deno.writeFile(join(root, "f.txt"), data);
    const before = await Deno.stat(join(root, "f.txt"));
    const local = await localEntry(root, describe("f.txt", data, { ME00000: 1 }));
    const remote = describe("f.txt", data, { ME00000: 1, PEER000: 1 }, { mode: 0o751 });
    const [entry] = await applyDecision(
      options(root, new MemorySource(data)),
      { action: "update-metadata", file: remote },
      local,
    );
    const after = await Deno.stat(join(root, "f.txt"));
    assert.equal(after.ino, before.ino);
    assert.equal(entry.inode, before.ino);
    assert.equal((after.mode ?? 0) & 0o7777, 0o751);
  }));

Deno.test("special bits from a peer are never applied; a file loses its own, a directory keeps its own", async (t) => {
  const data = new TextEncoder().encode("#!/bin/sh\n");
  const modeOf = async (abs: string) => ((await Deno.lstat(abs)).mode ?? 0) & 0o7777;
  await t.step("a new setuid file arrives without setuid", () =>
    inTempDir(async (root) => {
      const remote = describe("bin/tool", data, { PEER000: 1 }, { mode: 0o4755 });
      await applyDecision(
        options(root, new MemorySource(data)),
        { action: "fetch", file: remote, keepLocalAsConflict: false },
        undefined,
      );
      assert.equal(await modeOf(join(root, "bin/tool")), 0o755);
    }));
  await t.step("a metadata change to 6755 leaves a local setuid file 0755", () =>
    inTempDir(async (root) => {
      await Deno.writeFile(join(root, "tool"), data);
      await Deno.chmod(join(root, "tool"), 0o4700);
      const local = await localEntry(root, describe("tool", data, { ME00000: 1 }, { mode: 0o700 }));
      const remote = describe("tool", data, { ME00000: 1, PEER000: 1 }, { mode: 0o6755 });
      await applyDecision(
        options(root, new MemorySource(data)),
        { action: "update-metadata", file: remote },
        local,
      );
      assert.equal(await modeOf(join(root, "tool")), 0o755);
    }));
  const dir = (mode: number, version: Record<string, number>): FileInfo => ({
    ...describe("shared", new Uint8Array(), version, { mode }),
    type: "directory",
    blockSizes: new Uint32Array(),
  });
  await t.step("a new setgid directory arrives without setgid", () =>
    inTempDir(async (root) => {
      await applyDecision(
        options(root, new MemorySource(data)),
        { action: "fetch", file: dir(0o2775, { PEER000: 1 }), keepLocalAsConflict: false },
        undefined,
      );
      assert.equal(await modeOf(join(root, "shared")), 0o775);
    }));
  await t.step(
    "a local setgid directory keeps setgid and takes the peer's 0o777 bits",
    () =>
      inTempDir(async (root) => {
        await Deno.mkdir(join(root, "shared"));
        await Deno.chmod(join(root, "shared"), 0o2775);
        await applyDecision(
          options(root, new MemorySource(data)),
          { action: "update-metadata", file: dir(0o1750, { ME00000: 1, PEER000: 1 }) },
          dir(0o775, { ME00000: 1 }),
        );
        assert.equal(await modeOf(join(root, "shared")), 0o2750);
      }),
  );
});

Deno.test("a pull that fails before writing a byte leaves no temporary file", () =>
  inTempDir(async (root) => {
    const data = pattern(3 * BLOCK, 9);
    const temps = new TempLedger(denoFs);
    await assert.rejects(
      applyDecision(options(root, new FailingSource(data, 0), temps), {
        action: "fetch",
        file: describe("f.bin", data, { PEER000: 1 }),
        keepLocalAsConflict: false,
      }, undefined),
      /went away/,
    );
    assert.deepEqual(await findTempFiles(root), []);
    assert.equal(temps.size, 0);
  }));

Deno.test("a failed pull's temporary file is kept; the pull of a newer version takes its blocks and removes it", () =>
  inTempDir(async (root) => {
    const v1 = pattern(24 * BLOCK, 10);
    const first = describe("f.bin", v1, { PEER000: 1 });
    const temps = new TempLedger(denoFs);
    // The first 1 MiB request is answered, the two others fail: 8 blocks were written.
    await assert.rejects(
      applyDecision(
        options(root, new FailingSource(v1, 8 * BLOCK), temps),
        { action: "fetch", file: first, keepLocalAsConflict: false },
        undefined,
      ),
      /went away/,
    );
    const kept = tempPathFor(join(root, "f.bin"), first);
    assert.deepEqual(temps.entries(), [["f.bin", kept]]);
    assert.deepEqual(await findTempFiles(root), [kept.slice(root.length + 1)]);
    // Version 2 changed block 3 only: blocks 0-2 and 4-7 come from the kept file.
    const v2 = v1.slice();
    v2.fill(7, 3 * BLOCK, 4 * BLOCK);
    const source = new MemorySource(v2);
    await applyDecision(options(root, source, temps), {
      action: "fetch",
      file: describe("f.bin", v2, { PEER000: 2 }),
      keepLocalAsConflict: false,
    }, undefined);
    assert.deepEqual(source.requested.map((w) => [w.offset / BLOCK, w.size / BLOCK]), [[3, 1], [8, 8], [16, 8]]);
    assert.deepEqual(await Deno.readFile(join(root, "f.bin")), v2);
    assert.deepEqual(await findTempFiles(root), []);
    assert.equal(temps.size, 0);
  }));

Deno.test("a pull staged in full but stopped by a local change keeps its temporary file, and its retry fetches nothing", () =>
  inTempDir(async (root) => {
    await Deno.writeTextFile(join(root, "f.bin"), "mine");
    const local = await localEntry(root, describe("f.bin", new TextEncoder().encode("mine"), { ME00000: 1 }));
    await Deno.writeTextFile(join(root, "f.bin"), "mine, edited"); // after its scan
    const data = pattern(2 * BLOCK, 11);
    const remote = describe("f.bin", data, { ME00000: 1, PEER000: 1 });
    const temps = new TempLedger(denoFs);
    await assert.rejects(
      applyDecision(options(root, new MemorySource(data), temps), {
        action: "fetch",
        file: remote,
        keepLocalAsConflict: false,
      }, local),
      ChangedLocallyError,
    );
    assert.deepEqual(temps.entries(), [["f.bin", tempPathFor(join(root, "f.bin"), remote)]]);
    const rescanned = await localEntry(
      root,
      describe("f.bin", new TextEncoder().encode("mine, edited"), { ME00000: 2 }),
    );
    const source = new MemorySource(data);
    await applyDecision(options(root, source, temps), {
      action: "fetch",
      file: remote,
      keepLocalAsConflict: true,
    }, rescanned);
    assert.deepEqual(source.requested, []);
    assert.deepEqual(await Deno.readFile(join(root, "f.bin")), data);
    assert.equal(temps.size, 0);
  }));
