import assert from "node:assert/strict";
import fc from "fast-check";
import { BufferPool } from "./buffer_pool.ts";

const options = { bufferBytes: 1024, minBytes: 64, keep: 2 };

Deno.test("BufferPool takes lengths in its range from its buffers, and others fresh", async (t) => {
  const cases: { description: string; length: number; pooled: boolean }[] = [
    { description: "shorter than minBytes", length: 63, pooled: false },
    { description: "exactly minBytes", length: 64, pooled: true },
    { description: "exactly bufferBytes", length: 1024, pooled: true },
    { description: "longer than bufferBytes", length: 1025, pooled: false },
  ];
  for (const c of cases) {
    await t.step(c.description, () => {
      const pool = new BufferPool(options);
      const bytes = pool.take(c.length);
      assert.equal(bytes.length, c.length);
      assert.equal(bytes.buffer.byteLength, c.pooled ? 1024 : c.length);
      pool.give(bytes);
      assert.equal(pool.kept, c.pooled ? 1 : 0);
    });
  }
});

Deno.test("BufferPool hands a buffer given back out again, through any view of it", () => {
  const pool = new BufferPool(options);
  const first = pool.take(100);
  pool.give(first.subarray(10, 20));
  const second = pool.take(200);
  assert.equal(second.buffer, first.buffer);
});

Deno.test("BufferPool takes back only buffers it handed out, each once, and keeps at most `keep`", () => {
  const pool = new BufferPool(options);
  pool.give(new Uint8Array(1024));
  assert.equal(pool.kept, 0, "a buffer of its size it never handed out");
  const a = pool.take(100);
  pool.give(a);
  pool.give(a);
  assert.equal(pool.kept, 1, "given back twice");
  const [b, c, d] = [pool.take(100), pool.take(100), pool.take(100)];
  assert.equal(b.buffer, a.buffer);
  for (const x of [b, c, d]) pool.give(x);
  assert.equal(pool.kept, 2);
});

Deno.test("BufferPool never hands one buffer to two holders at once", () => {
  // Holders take and give back in any order (a give is ignored unless the holder still holds
  // its buffer): no two current holders ever share a buffer.
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(7)), { maxLength: 200 }), (steps) => {
      const pool = new BufferPool({ ...options, keep: 3 });
      const held: (Uint8Array | undefined)[] = Array(8).fill(undefined);
      for (const [take, who] of steps) {
        if (take && !held[who]) held[who] = pool.take(64 + who);
        else if (!take && held[who]) {
          pool.give(held[who]!);
          held[who] = undefined;
        }
        const buffers = held.flatMap((h) => h ? [h.buffer] : []);
        assert.equal(new Set(buffers).size, buffers.length);
      }
    }),
  );
});
