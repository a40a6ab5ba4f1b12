import assert from "node:assert/strict";
import { join } from "node:path";
import { bytesReceivedFor, receivedBytes, startLivePair } from "../support/peer.ts";
import { fillPseudoRandom } from "../support/gen_tree.ts";
import { saveEdited, spliced } from "../support/edits.ts";

const MiB = 1 << 20;

Deno.test("renaming a directory, moving and copying files costs (almost) no transfer: local blocks are reused", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-reuse-" });
  try {
    await using pair = await startLivePair(tmp, async (a) => {
      await Deno.mkdir(join(a, "album"));
      for (let i = 0; i < 20; i++) {
        const data = new Uint8Array(256 * 1024);
        fillPseudoRandom(data, 100 + i);
        await Deno.writeFile(join(a, "album", `photo-${i}.jpg`), data);
      }
    });
    const { a } = pair;
    const initial = receivedBytes(pair.joiner);
    assert.ok(initial >= 4.9 * MiB, `the initial sync fetched the album (${initial} B)`);
    const steps: [string, () => Promise<void>][] = [
      ["rename the directory", () => Deno.rename(join(a, "album"), join(a, "holiday"))],
      ["move a file to the top", () => Deno.rename(join(a, "holiday/photo-3.jpg"), join(a, "cover.jpg"))],
      ["copy a file", () => Deno.copyFile(join(a, "holiday/photo-4.jpg"), join(a, "holiday/photo-4 copy.jpg"))],
    ];
    let extra = 0;
    for (const [what, change] of steps) {
      await t.step(what, async () => {
        extra += await bytesReceivedFor(pair, what, change);
      });
    }
    assert.ok(extra <= 0.1 * MiB, `moved and copied 5.25 MiB but received ${extra} more bytes`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a 1 MiB change in the middle of a large file, an append, an insertion and a deletion transfer only the blocks around them", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-delta-" });
  try {
    await using pair = await startLivePair(tmp, async (a) => {
      const data = new Uint8Array(64 * MiB);
      fillPseudoRandom(data, 7);
      await Deno.writeFile(join(a, "disk.img"), data);
    });
    const { a } = pair;
    const steps: [string, number, () => Promise<void>][] = [
      // Content-defined blocks around the rewrite: the one it starts in and those until the cuts fall in step again.
      ["1 MiB rewritten in the middle", 1.5e6, async () => {
        using f = await Deno.open(join(a, "disk.img"), { write: true });
        await f.seek(32 * MiB + 100, Deno.SeekMode.Start);
        const patch = new Uint8Array(MiB);
        fillPseudoRandom(patch, 8);
        await f.write(patch);
      }],
      ["512 KiB appended", 0.75 * MiB, async () => {
        const tail = new Uint8Array(512 * 1024);
        fillPseudoRandom(tail, 9);
        await Deno.writeFile(join(a, "disk.img"), tail, { append: true });
      }],
      // Content-defined blocks: the blocks after the edit shifted, yet match the old ones.
      ["1,000,000 bytes inserted at the middle", 1.5e6, async () => {
        const inserted = new Uint8Array(1_000_000);
        fillPseudoRandom(inserted, 10);
        await saveEdited(
          join(tmp, "saving"),
          join(a, "disk.img"),
          (old) => spliced(old, old.length >> 1, inserted, 0),
        );
      }],
      ["1,000,000 bytes deleted from the middle", 0.5e6, async () => {
        const cut = (old: Uint8Array) => spliced(old, old.length >> 1, new Uint8Array(), 1_000_000);
        await saveEdited(join(tmp, "saving"), join(a, "disk.img"), cut);
      }],
    ];
    for (const [what, bound, change] of steps) {
      await t.step(what, async () => {
        const extra = await bytesReceivedFor(pair, what, change);
        assert.ok(extra <= bound, `${what}: received ${extra} bytes (bound ${bound})`);
      });
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("renaming the directory that holds the whole folder (1,000 files) is no big deletion: it reaches the peer, no byte re-sent", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-rename-all-" });
  try {
    await using pair = await startLivePair(tmp, async (a) => {
      await Deno.mkdir(join(a, "dir"));
      for (let i = 0; i < 1000; i++) {
        const data = new Uint8Array(1024 + (i % 16) * 256);
        fillPseudoRandom(data, 500 + i);
        await Deno.writeFile(join(a, "dir", `file-${i}.bin`), data);
      }
    });
    const received = await bytesReceivedFor(
      pair,
      "rename the whole folder's directory",
      () => Deno.rename(join(pair.a, "dir"), join(pair.a, "renamed-dir")),
    );
    assert.equal(received, 0, `every file came from local blocks (received ${received} bytes)`);
    assert.doesNotMatch(pair.sharer.log(), /deletions are held/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
