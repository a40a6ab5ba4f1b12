import assert from "node:assert/strict";
import { conflictName } from "./conflict_name.ts";
import { blockSizeFor, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from "./file_info.ts";

const MiB = 1024 * 1024;

Deno.test("blockSizeFor() grows by powers of two to keep files under 2048 blocks", async (t) => {
  const cases = [
    { description: "empty file", size: 0, want: MIN_BLOCK_SIZE },
    { description: "small file", size: 1000, want: MIN_BLOCK_SIZE },
    { description: "256 MiB is 2048 blocks of 128 KiB", size: 256 * MiB, want: MIN_BLOCK_SIZE },
    { description: "one byte more doubles", size: 256 * MiB + 1, want: 2 * MIN_BLOCK_SIZE },
    { description: "1 GiB uses 512 KiB", size: 1024 * MiB, want: 512 * 1024 },
    { description: "4 GiB is capped at 1 MiB", size: 4096 * MiB, want: MAX_BLOCK_SIZE },
    { description: "1 TiB stays at 1 MiB", size: 1024 * 1024 * MiB, want: MAX_BLOCK_SIZE },
  ];
  for (const c of cases) await t.step(c.description, () => assert.equal(blockSizeFor(c.size), c.want));
});

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
