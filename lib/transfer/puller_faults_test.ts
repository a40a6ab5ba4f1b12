import assert from "node:assert/strict";
import { join } from "node:path";
import { type FaultKind, FaultyFs, type FsOp } from "../../tests/support/faulty_fs.ts";
import { findTempFiles } from "../../tests/support/tree.ts";
import type { FileInfo } from "../model/mod.ts";
import { TempLedger } from "./temp_ledger.ts";
import { applyDecision, tempPathFor } from "./puller.ts";
import { BLOCK, describe, inTempDir, localEntry, MemorySource, options, pattern } from "./_puller_fixtures.ts";

/** A pull to make: the target's path, what it holds before (undefined: nothing), the peer's new version. */
interface Case {
  readonly path: string;
  readonly old?: Uint8Array;
  readonly local?: FileInfo;
  readonly changed: Uint8Array;
  readonly remote: FileInfo;
}

/**
 * The old version of sub/f.bin on disk and indexed, and the peer's new one: the same first
 * and last blocks (reused locally), new ones between (fetched), and 1,000 bytes longer.
 */
async function update(root: string): Promise<Case> {
  const old = pattern(5 * BLOCK, 1);
  const changed = pattern(5 * BLOCK + 1000, 2);
  changed.set(old.subarray(0, BLOCK), 0);
  changed.set(old.subarray(4 * BLOCK), 4 * BLOCK);
  await Deno.mkdir(join(root, "sub"));
  await Deno.writeFile(join(root, "sub/f.bin"), old);
  const local = await localEntry(root, describe("sub/f.bin", old, { ME00000: 1 }));
  return { path: "sub/f.bin", old, local, changed, remote: describe("sub/f.bin", changed, { ME00000: 1, PEER000: 1 }) };
}

/** A new file in directories that do not exist yet. */
function fresh(_root: string): Promise<Case> {
  const changed = pattern(3 * BLOCK + 7, 3);
  return Promise.resolve({
    path: "new/deep/f.bin",
    changed,
    remote: describe("new/deep/f.bin", changed, { PEER000: 1 }),
  });
}

/** A new file whose temporary file, left by an earlier run, is longer than the new version. */
async function leftover(root: string): Promise<Case> {
  const changed = pattern(3 * BLOCK + 7, 4);
  const remote = describe("f.bin", changed, { PEER000: 1 });
  const longer = new Uint8Array(5 * BLOCK);
  longer.set(changed.subarray(0, 2 * BLOCK));
  await Deno.writeFile(tempPathFor(join(root, "f.bin"), remote), longer);
  return { path: "f.bin", changed, remote };
}

const ERRORS: FaultKind[] = ["ENOSPC", "EIO", "EACCES"];
const CASES: [FsOp, (root: string) => Promise<Case>][] = [
  ["lstat", update],
  ["mkdir", fresh],
  ["open", update],
  ["read", leftover],
  ["seek", update],
  ["write", update],
  ["truncate", leftover],
  ["fstat", update],
  ["datasync", update],
  ["freeBytes", update],
  ["chmod", update],
  ["utime", update],
  ["rename", update],
  ["link", fresh],
  ["fsync", update],
];

Deno.test("a pull meeting ENOSPC, EIO or EACCES at any file-system call leaves the target old or complete, never torn; a retry completes it and leaves no temporary file", async (t) => {
  for (const [op, setup] of CASES) {
    for (const kind of ERRORS) {
      await t.step(`${kind} at the first ${op} (${setup.name})`, () =>
        inTempDir(async (root) => {
          const c = await setup(root);
          const target = join(root, c.path);
          const fs = new FaultyFs().inject({ op, nth: 1, kind });
          const temps = new TempLedger(fs);
          const decision = { action: "fetch" as const, file: c.remote, keepLocalAsConflict: false };
          const source = new MemorySource(c.changed);
          const failed = await applyDecision(options(root, source, temps, fs), decision, c.local).then(
            () => undefined,
            (e: Error) => e,
          );
          assert.ok(fs.calls.some((call) => call.op === op), `${op} is called by this pull`);
          const now = await Deno.readFile(target).catch(() => undefined);
          if (failed) assert.match(failed.message, /\(injected\)|disk full/, String(failed.stack));
          // Old (or absent) after a failure before the rename; complete after one past it (fsync).
          const complete = now !== undefined && now.length === c.changed.length;
          if (complete) assert.deepEqual(now, c.changed);
          else assert.deepEqual(now, c.old, `${op}: the target is neither the old nor the new version`);
          assert.ok(failed || complete, "a pull that did not fail wrote the new version");
          // Once the disk is fine again, the next attempt completes.
          fs.heal();
          if (!complete) await applyDecision(options(root, source, temps, fs), decision, c.local);
          assert.deepEqual(await Deno.readFile(target), c.changed);
          assert.deepEqual(await findTempFiles(root), [], "no temporary file is left");
          assert.equal(temps.size, 0);
        }));
    }
  }
});

Deno.test("short writes everywhere still give the complete file", () =>
  inTempDir(async (root) => {
    const { changed, local, remote } = await update(root);
    const fs = new FaultyFs().inject({ op: "write", kind: "short-write" });
    await applyDecision(
      options(root, new MemorySource(changed), new TempLedger(fs), fs),
      { action: "fetch", file: remote, keepLocalAsConflict: false },
      local,
    );
    assert.deepEqual(await Deno.readFile(join(root, "sub/f.bin")), changed);
    assert.ok(fs.calls.filter((c) => c.op === "write").length > 6, "writes were cut short and retried");
  }));
