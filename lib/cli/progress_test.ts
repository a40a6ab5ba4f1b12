import assert from "node:assert/strict";
import { describe, InSyncReport, timeLeft } from "./progress.ts";

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

Deno.test("In sync lines: rounded figures with units, each over its own catching up", () => {
  const report = new InSyncReport(1_000);
  const first = report.line("A", { files: 3, bytesFetched: 179, bytesReused: 0 }, 7_000);
  assert.equal(
    first,
    "In sync: 3 files and directories written, 179 B received, 0 B reused locally, in 6.0 s (30 B/s)",
  );
  // Idle for a minute, then a pull of 2 MiB that takes 2 s: the line counts that pull only.
  report.progress(68_000);
  report.progress(69_000);
  const second = report.line("A", { files: 4, bytesFetched: 179 + 2 * MiB, bytesReused: MiB }, 70_000);
  assert.equal(
    second,
    "In sync: 1 files and directories written, 2.0 MiB received, 1.0 MiB reused locally, in 2.0 s (1.0 MiB/s)",
  );
  // In sync again with nothing pulled (say, the peer reconnected): nothing counted twice.
  assert.equal(
    report.line("A", { files: 4, bytesFetched: 179 + 2 * MiB, bytesReused: MiB }, 75_000),
    "In sync: 0 files and directories written, 0 B received, 0 B reused locally, in 5.0 s (0 B/s)",
  );
  // Another peer's totals are its own: a first small pull from it is not set against A's.
  assert.equal(
    report.line("B", { files: 1, bytesFetched: 29, bytesReused: 0 }, 76_000),
    "In sync: 1 files and directories written, 29 B received, 0 B reused locally, in 1.0 s (29 B/s)",
  );
});
