import assert from "node:assert/strict";
import { conflictName } from "./conflict_name.ts";

Deno.test("conflictName() keeps the extension and directory", async (t) => {
  const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
  const cases = [
    {
      description: "with extension",
      path: "a/b/report.txt",
      want: "a/b/report.sync-conflict-20260102-030405-ABCDEFG.txt",
    },
    { description: "no extension", path: "Makefile", want: "Makefile.sync-conflict-20260102-030405-ABCDEFG" },
    { description: "dotfile", path: ".bashrc", want: ".bashrc.sync-conflict-20260102-030405-ABCDEFG" },
    { description: "two dots", path: "x.tar.gz", want: "x.tar.sync-conflict-20260102-030405-ABCDEFG.gz" },
  ];
  for (const c of cases) await t.step(c.description, () => assert.equal(conflictName(c.path, at, "ABCDEFG"), c.want));
});
