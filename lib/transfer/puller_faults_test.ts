import assert from "node:assert/strict";
import { join } from "node:path";
import { type FaultKind, FaultyFs, type FsOp } from "../../tests/support/faulty_fs.ts";
import { TempLedger } from "./temp_ledger.ts";
import { applyDecision } from "./puller.ts";
import { BLOCK, describe, inTempDir, localEntry, MemorySource, options, pattern } from "./_puller_fixtures.ts";

const OPS: FsOp[] = [
  "lstat",
  "mkdir",
  "open",
  "read",
  "seek",
  "write",
  "truncate",
  "fstat",
  "datasync",
  "freeBytes",
  "chmod",
  "utime",
  "rename",
  "fsync",
];
const ERRORS: FaultKind[] = ["ENOSPC", "EIO", "EACCES"];

/**
 * The old version of sub/f.bin on disk and indexed, and the peer's new one: the same first
 * and last blocks (reused locally), new ones between (fetched), and 1,000 bytes longer.
 */
async function update(root: string) {
  const old = pattern(5 * BLOCK, 1);
  const changed = pattern(5 * BLOCK + 1000, 2);
  changed.set(old.subarray(0, BLOCK), 0);
  changed.set(old.subarray(4 * BLOCK), 4 * BLOCK);
  await Deno.mkdir(join(root, "sub"));
  await Deno.writeFile(join(root, "sub/f.bin"), old);
  const local = await localEntry(root, describe("sub/f.bin", old, { ME00000: 1 }));
  const remote = describe("sub/f.bin", changed, { ME00000: 1, PEER000: 1 });
  return { old, changed, local, remote };
}

Deno.test("a pull meeting ENOSPC, EIO or EACCES at any file-system call leaves the target old or complete, never torn, and a retry completes it", async (t) => {
  for (const op of OPS) {
    for (const kind of ERRORS) {
      await t.step(`${kind} at the first ${op}`, () =>
        inTempDir(async (root) => {
          const { old, changed, local, remote } = await update(root);
          const fs = new FaultyFs().inject({ op, nth: 1, kind });
          const temps = new TempLedger(fs);
          const decision = { action: "fetch" as const, file: remote, keepLocalAsConflict: false };
          const source = new MemorySource(changed);
          const failed = await applyDecision(options(root, source, temps, fs), decision, local).then(
            () => undefined,
            (e: Error) => e,
          );
          const now = await Deno.readFile(join(root, "sub/f.bin"));
          if (failed) {
            assert.match(failed.message, /\(injected\)|disk full/, String(failed.stack));
            // A failure after the rename (the directory's fsync) leaves the complete new file.
            assert.ok(
              now.length === old.length ? now.every((b, i) => b === old[i]) : now.length === changed.length,
              `${op}: the target is neither the old nor the new version`,
            );
          }
          if (!failed || now.length === changed.length) assert.deepEqual(now, changed);
          assert.ok(fs.calls.some((c) => c.op === op) || !failed, `${op} was called`);
          // Once the disk is fine again, the next attempt completes (from what is on disk now).
          fs.heal();
          const current = await localEntry(root, describe("sub/f.bin", now, { ME00000: 1 }));
          if (now.length === old.length) {
            await applyDecision(options(root, source, temps, fs), decision, current);
          }
          assert.deepEqual(await Deno.readFile(join(root, "sub/f.bin")), changed);
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
