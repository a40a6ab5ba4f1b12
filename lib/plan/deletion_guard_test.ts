import assert from "node:assert/strict";
import { DEFAULT_DELETION_THRESHOLDS, isBigDeletion, type RootObservation, rootVerdict } from "./deletion_guard.ts";

Deno.test("isBigDeletion() holds more than the percent AND more than the count, both strictly", async (t) => {
  const defaults = DEFAULT_DELETION_THRESHOLDS;
  const cases: {
    description: string;
    deleted: number;
    before: number;
    percent?: number;
    files?: number;
    want: boolean;
  }[] = [
    { description: "an empty folder deletes nothing", deleted: 0, before: 0, want: false },
    { description: "nothing deleted from a large folder", deleted: 0, before: 10_000, want: false },
    { description: "every file of a small folder (40 of 40)", deleted: 40, before: 40, want: false },
    { description: "exactly 100 files, all of them", deleted: 100, before: 100, want: false },
    { description: "101 files, all of them", deleted: 101, before: 101, want: true },
    { description: "101 of 202 files: exactly 50 %", deleted: 101, before: 202, want: false },
    { description: "101 of 201 files: just over 50 %", deleted: 101, before: 201, want: true },
    { description: "5,000 of 10,000 files: exactly 50 %", deleted: 5_000, before: 10_000, want: false },
    { description: "5,001 of 10,000 files", deleted: 5_001, before: 10_000, want: true },
    { description: "4,000 of 10,000 files: many, but 40 %", deleted: 4_000, before: 10_000, want: false },
    {
      description: "percent 0: any deletion over the count",
      deleted: 2,
      before: 1_000,
      percent: 0,
      files: 1,
      want: true,
    },
    { description: "files 0: a single file over the percent", deleted: 1, before: 1, files: 0, want: true },
    { description: "percent 100: never held", deleted: 1_000, before: 1_000, percent: 100, want: false },
  ];
  for (const c of cases) {
    await t.step(c.description, () => {
      const thresholds = { percent: c.percent ?? defaults.percent, files: c.files ?? defaults.files };
      assert.equal(isBigDeletion(c.deleted, c.before, thresholds), c.want);
    });
  }
});

Deno.test("rootVerdict() uses a marked root, marks a new or pre-marker one, and stops a replaced one", async (t) => {
  const mounted: RootObservation = {
    exists: true,
    hasMarker: true,
    wasMarked: true,
    isEmpty: false,
    indexEmpty: false,
  };
  const cases: { description: string; root: RootObservation; want: "use" | "mark" | "stop" }[] = [
    { description: "marker present", root: mounted, want: "use" },
    { description: "marker present, folder emptied by the user", root: { ...mounted, isEmpty: true }, want: "use" },
    { description: "root missing", root: { ...mounted, exists: false, hasMarker: false, isEmpty: true }, want: "stop" },
    {
      description: "marked once, now an empty mount point",
      root: { ...mounted, hasMarker: false, isEmpty: true },
      want: "stop",
    },
    {
      description: "marked once, marker gone but files there (another disk?)",
      root: { ...mounted, hasMarker: false },
      want: "stop",
    },
    {
      description: "new folder (nothing indexed), empty",
      root: { exists: true, hasMarker: false, wasMarked: false, isEmpty: true, indexEmpty: true },
      want: "mark",
    },
    {
      description: "pre-marker home, folder holds files",
      root: { exists: true, hasMarker: false, wasMarked: false, isEmpty: false, indexEmpty: false },
      want: "mark",
    },
    {
      description: "pre-marker home, root empty while the index holds files",
      root: { exists: true, hasMarker: false, wasMarked: false, isEmpty: true, indexEmpty: false },
      want: "stop",
    },
    {
      description: "never marked, root missing",
      root: { exists: false, hasMarker: false, wasMarked: false, isEmpty: true, indexEmpty: true },
      want: "stop",
    },
    {
      description: "never marked, but the marker is there (made by the user or an older run)",
      root: { exists: true, hasMarker: true, wasMarked: false, isEmpty: false, indexEmpty: false },
      want: "use",
    },
  ];
  for (const c of cases) await t.step(c.description, () => assert.equal(rootVerdict(c.root), c.want));
});
