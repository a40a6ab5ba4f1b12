import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { denoFs } from "../fs/mod.ts";
import { HASH_BYTES, toHex } from "../model/mod.ts";
import { Chunker, chunkSizesFor, gearMasks, gearTable } from "./chunker.ts";
import { hashFile } from "./hash_file.ts";

const MiB = 2 ** 20;

/** The boundaries of FastCDC with normalized chunking, written plainly: what gear.wat must find. */
function referenceSizes(data: Uint8Array): number[] {
  const { min, average, max } = chunkSizesFor(data.length);
  const { strict, loose } = gearMasks(average);
  const gear = gearTable();
  const sizes: number[] = [];
  for (let start = 0; start < data.length;) {
    const n = Math.min(max, data.length - start);
    let end = start + n;
    if (n > min) {
      let fp = 0;
      for (let i = start + min; i < start + n; i++) {
        fp = ((fp << 1) + gear[data[i]]) | 0;
        if ((fp & (i < start + Math.min(average, n) ? strict : loose)) === 0) {
          end = i + 1;
          break;
        }
      }
    }
    sizes.push(end - start);
    start = end;
  }
  return sizes;
}

/** `size` bytes from a seed: random where `random`, else a repeated short text (low entropy). */
function bytesFrom(seed: number, size: number, random = true): Uint8Array {
  const out = new Uint8Array(size);
  if (!random) {
    const text = new TextEncoder().encode(`line ${seed} of a log that says the same thing again\n`);
    for (let at = 0; at < size; at += text.length) out.set(text.subarray(0, size - at), at);
    return out;
  }
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The blocks hashFile makes of `data`: sizes and hex hashes. */
async function blocksOf(dir: string, data: Uint8Array): Promise<{ sizes: number[]; hashes: string[] }> {
  const path = join(dir, "f");
  await Deno.writeFile(path, data);
  const { blockSizes, blockHashes } = await hashFile(denoFs, path, data.length);
  const hashes = Array.from(
    { length: blockSizes.length },
    (_, i) => toHex(blockHashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)),
  );
  return { sizes: [...blockSizes], hashes };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("chunkSizesFor(): the average grows with the file, the maximum stays within 1 MiB, beyond 16 GiB blocks are fixed", async (t) => {
  const KiB = 1024;
  const cases = [
    { description: "small file", size: 1000, want: { min: 32 * KiB, average: 64 * KiB, max: 256 * KiB } },
    { description: "256 MiB", size: 256 * MiB, want: { min: 32 * KiB, average: 64 * KiB, max: 256 * KiB } },
    {
      description: "one byte more doubles",
      size: 256 * MiB + 1,
      want: { min: 64 * KiB, average: 128 * KiB, max: 512 * KiB },
    },
    { description: "1 GiB", size: 1024 * MiB, want: { min: 128 * KiB, average: 256 * KiB, max: MiB } },
    { description: "16 GiB", size: 16 * 1024 * MiB, want: { min: 128 * KiB, average: 256 * KiB, max: MiB } },
    {
      description: "beyond 16 GiB: fixed 1 MiB",
      size: 16 * 1024 * MiB + 1,
      want: { min: MiB, average: MiB, max: MiB },
    },
  ];
  for (const c of cases) await t.step(c.description, () => assert.deepEqual(chunkSizesFor(c.size), c.want));
});

Deno.test("hashFile() finds the reference boundaries, whatever the file's size and content, across its read window", async () => {
  await inTempDir(async (dir) => {
    // 9 MiB spans many refills of the 2 MiB window; text has few distinct windows of bytes.
    const cases = [[1, 0], [2, 1], [3, 32 * 1024], [4, 32 * 1024 + 1], [5, 700_000], [6, 9 * MiB], [7, 5 * MiB]];
    for (const [seed, size] of cases) {
      for (const random of [true, false]) {
        const data = bytesFrom(seed, size, random);
        assert.deepEqual((await blocksOf(dir, data)).sizes, referenceSizes(data), `seed ${seed}, ${size} bytes`);
      }
    }
  });
});

Deno.test("content-defined blocks: every block but the last within [min, max]; sizes crowd around the average", async () => {
  await inTempDir(async (dir) => {
    for (const random of [true, false]) {
      const data = bytesFrom(11, 24 * MiB, random);
      const { sizes } = await blocksOf(dir, data);
      const { min, average, max } = chunkSizesFor(data.length);
      sizes.slice(0, -1).forEach((s, i) => assert.ok(s >= min && s <= max, `block ${i}: ${s} bytes`));
      assert.ok(sizes[sizes.length - 1] <= max);
      if (random) {
        const mean = data.length / sizes.length;
        assert.ok(mean > average * 1.1 && mean < average * 1.5, `mean ${mean} against average ${average}`);
        assert.ok(sizes.filter((s) => s === max).length < sizes.length / 50, "few blocks are cut at the maximum");
      }
    }
  });
});

Deno.test("content-defined blocks survive edits: blocks away from an insertion, deletion or overwrite are the original's", async () => {
  await inTempDir(async (dir) => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.integer({ min: 1 * MiB, max: 6 * MiB }),
        fc.constantFrom("insert", "delete", "overwrite"),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 200_000 }),
        async (seed, size, kind, where, length) => {
          const original = bytesFrom(seed, size);
          const at = Math.floor(where * (size - length));
          const patch = bytesFrom(seed + 1, length);
          const head = original.subarray(0, at);
          const edited = kind === "insert"
            ? concat(head, patch, original.subarray(at))
            : kind === "delete"
            ? concat(head, original.subarray(at + length))
            : concat(head, patch, original.subarray(at + length));
          const before = await blocksOf(dir, original);
          const after = await blocksOf(dir, edited);
          const known = new Set(before.hashes);
          const { max } = chunkSizesFor(edited.length);
          const editEnd = kind === "delete" ? at : at + length;
          // Away from the edit: ending before it (cut exactly as before), or starting two
          // maximal blocks past it (cut in step with the original again).
          let start = 0;
          for (const [i, s] of after.sizes.entries()) {
            const away = start + s <= at || start >= editEnd + 2 * max;
            if (away) assert.ok(known.has(after.hashes[i]), `${kind} of ${length} at ${at}: block at ${start} is new`);
            start += s;
          }
        },
      ),
      { numRuns: 24, seed: 20261206 },
    );
  });
});

Deno.test("Chunker: with equal minimum, average and maximum (files over 16 GiB) every block but the last is that size", () => {
  using chunker = Chunker.take();
  const sizes = chunkSizesFor(17 * 1024 * MiB);
  chunker.window.set(bytesFrom(3, 2 * MiB));
  assert.equal(chunker.blockEnd(0, 2 * MiB, sizes, false), MiB);
  assert.equal(chunker.blockEnd(MiB, MiB, sizes, true), 2 * MiB);
  assert.equal(chunker.blockEnd(MiB, 5, sizes, true), MiB + 5);
  assert.throws(() => chunker.blockEnd(0, MiB - 1, sizes, false), RangeError);
});
