import assert from "node:assert/strict";
import type { LastError } from "../store/mod.ts";
import { ProblemLogger, silentLogger } from "./logger.ts";

Deno.test("ProblemLogger remembers the last warning or error, saves it at most once a second, and at close", async () => {
  const saved: LastError[] = [];
  const tasks: Promise<void>[] = [];
  const logger = new ProblemLogger(
    silentLogger,
    () => 5,
    (p) => (saved.push(p), Promise.resolve()),
    (t) => tasks.push(t),
  );
  logger.info("not a problem");
  assert.equal(logger.last, undefined);
  for (let i = 0; i < 50; i++) logger.warn(`file ${i} failed`, { folder: "a" });
  logger.error("worse", { folder: "a", peer: "PEER000" });
  assert.deepEqual(logger.last, { message: "worse", atMs: 5, folder: "a", peer: "PEER000" });
  await new Promise((r) => setTimeout(r, 1_100));
  await Promise.all(tasks);
  assert.deepEqual(saved.map((p) => p.message), ["worse"], "51 problems in a second: one save");
  logger.warn("at the end");
  await logger.close();
  assert.deepEqual(saved.map((p) => p.message), ["worse", "at the end"]);
});
