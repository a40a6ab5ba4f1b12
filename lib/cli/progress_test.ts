import assert from "node:assert/strict";
import { describe, timeLeft } from "./progress.ts";

const MiB = 1 << 20;
const progress = (fetched: number, reused: number) => ({
  type: "pull-progress" as const,
  folderId: "f",
  label: "docs",
  peerId: "ABCDEFG",
  filesTotal: 10,
  filesDone: 4,
  bytesTotal: 10 * MiB,
  bytesFetched: fetched,
  bytesReused: reused,
  done: false,
});

Deno.test("time left counts only the bytes still to fetch: reused blocks take no time", async (t) => {
  const cases: [fetched: number, reused: number, rate: number, want: string][] = [
    [2 * MiB, 0, MiB, "8 s"],
    [2 * MiB, 6 * MiB, MiB, "2 s"],
    [0, 10 * MiB, 0, "0 s"],
    [0, 0, 0, "?"],
    [0, 0, 1024, "2.8 h"],
    [0, 0, 100 * 1024, "1 min 43 s"],
  ];
  for (const [fetched, reused, rate, want] of cases) {
    await t.step(
      `${fetched}+${reused} at ${rate}/s`,
      () => assert.equal(timeLeft(progress(fetched, reused), rate), want),
    );
  }
});

Deno.test("describe() says files, bytes done of total, reused, rate and time left", () => {
  assert.equal(
    describe(progress(2 * MiB, MiB), MiB),
    "4/10 files, 3.0 MiB/10.0 MiB (1.0 MiB reused), 1.0 MiB/s, 7 s left",
  );
});
