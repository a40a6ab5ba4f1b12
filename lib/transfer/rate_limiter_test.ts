import assert from "node:assert/strict";
import fc from "fast-check";
import { RateLimiter } from "./rate_limiter.ts";

Deno.test("RateLimiter: over any sequence of requests, bytes never outrun the rate plus one second's burst", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 10_000 }),
      fc.array(fc.record({ bytes: fc.integer({ min: 1, max: 30_000 }), pauseMs: fc.nat(3000) }), { maxLength: 30 }),
      async (rate, requests) => {
        let now = 0;
        const limiter = new RateLimiter(rate, () => now, (ms) => Promise.resolve(void (now += ms)));
        let sent = 0;
        for (const { bytes, pauseMs } of requests) {
          now += pauseMs;
          await limiter.take(bytes);
          sent += bytes;
          // Once a request is let through, everything sent fits in the elapsed time at the
          // rate plus the one second's burst the bucket starts with.
          assert.ok(sent <= rate * (now / 1000) + rate + 1e-6, `${sent} bytes in ${now} ms at ${rate}/s`);
        }
      },
    ),
  );
});

Deno.test("RateLimiter serves requests in order", async () => {
  const limiter = new RateLimiter(1_000_000);
  const order: number[] = [];
  await Promise.all([1, 2, 3].map((n) => limiter.take(400_000).then(() => order.push(n))));
  assert.deepEqual(order, [1, 2, 3]);
});
