import assert from "node:assert/strict";
import { FloodLog } from "./flood_log.ts";

Deno.test("FloodLog: one line per interval, with the count, the top sources and the reasons", () => {
  const log = new FloodLog(60_000);
  assert.equal(log.take(0), undefined); // nothing noted
  log.note("10.0.0.9", "evicted");
  assert.equal(log.take(1_000), "closed 1 unauthenticated connection from 10.0.0.9 (1): 1 evicted");
  for (let i = 0; i < 26_000; i++) log.note(i % 10 === 0 ? `10.0.1.${i % 7}` : "10.0.0.9", "not authenticated");
  log.note("10.0.0.9", "too much input");
  assert.equal(log.take(30_000), undefined); // within the interval
  assert.equal(
    log.take(61_000),
    "closed 26001 unauthenticated connections in the last 60 s from 10.0.0.9 (23401), 10.0.1.0 (372), " +
      "10.0.1.3 (372) and 5 other sources: 26000 not authenticated, 1 too much input",
  );
  assert.equal(log.take(200_000), undefined);
});
