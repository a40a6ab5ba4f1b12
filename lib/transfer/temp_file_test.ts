import assert from "node:assert/strict";
import { join } from "node:path";
import { FaultyFs } from "../../tests/support/faulty_fs.ts";
import { openTempFile } from "./temp_file.ts";

const MiB = 1 << 20;

/** Writes `mib` MiB to a new large temporary file through `fs`, then makes it durable. */
async function writeLarge(fs: FaultyFs, path: string, mib: number): Promise<{ syncsBefore: number }> {
  await using file = await openTempFile(fs, path, 64 * MiB);
  const chunk = new Uint8Array(MiB).fill(7);
  for (let i = 0; i < mib; i++) await file.write(chunk, i * MiB);
  // The background flush starts once its threshold is passed; give it a turn to be made.
  await new Promise((r) => setTimeout(r, 0));
  const syncsBefore = fs.calls.filter((c) => c.op === "datasync").length;
  await file.datasync();
  return { syncsBefore };
}

Deno.test("a large temporary file is flushed in the background as it grows, before the final fdatasync", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fs = new FaultyFs();
    const { syncsBefore } = await writeLarge(fs, join(dir, "big"), 40);
    assert.ok(syncsBefore >= 1, "no fdatasync before the final one");
    assert.equal((await Deno.stat(join(dir, "big"))).size, 40 * MiB);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a background fdatasync that failed fails the final one, even when a second call would succeed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fs = new FaultyFs().inject({ op: "datasync", nth: 1, kind: "EIO" });
    await assert.rejects(writeLarge(fs, join(dir, "big"), 40), /Input\/output error/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
