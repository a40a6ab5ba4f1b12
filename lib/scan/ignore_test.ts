import assert from "node:assert/strict";
import fc from "fast-check";
import ignore from "ignore";
import { DEFAULT_IGNORES, IgnoreRules } from "./ignore.ts";

Deno.test("IgnoreRules follow gitignore semantics", async (t) => {
  const text = [
    "# a comment",
    "*.log",
    "!keep.log",
    "build/",
    "docs/**/draft*",
    "/top-only.txt",
    "cache",
    "!cache/keep-me", // a file under an ignored directory cannot be re-included (as in git)
  ].join("\n");
  const rules = new IgnoreRules(text, true);
  const cases: [path: string, isDirectory: boolean, ignored: boolean, line?: number][] = [
    ["x.log", false, true, 2],
    ["deep/down/x.log", false, true, 2],
    ["keep.log", false, false, 3],
    ["build", true, true, 4],
    ["build", false, false],
    ["src/build", true, true, 4],
    ["build/out.js", false, true, 4],
    ["docs/draft1.md", false, true, 5],
    ["docs/a/b/draft2.md", false, true, 5],
    ["other/draft.md", false, false],
    ["top-only.txt", false, true, 6],
    ["sub/top-only.txt", false, false],
    ["cache", true, true, 7],
    ["cache/keep-me", false, true, 7],
    [".DS_Store", false, true, 0],
    ["a/Thumbs.db", false, true, 0],
    ["._resource", false, true, 0],
    ["notes.txt", false, false],
    [".fsyncignore", false, true],
  ];
  for (const [path, isDirectory, ignored, line] of cases) {
    await t.step(`${path}${isDirectory ? "/" : ""}`, () => {
      assert.equal(rules.ignores(path, isDirectory), ignored);
      const verdict = rules.explain(path, isDirectory);
      assert.equal(verdict.ignored, ignored);
      assert.equal(verdict.line, line);
    });
  }
});

Deno.test("without the defaults, OS junk is synced", () => {
  const rules = new IgnoreRules("", false);
  assert.equal(rules.ignores(".DS_Store", false), false);
  assert.equal(rules.ignores(".fsyncignore", false), true);
});

Deno.test("with only the default patterns, each path gets the ignore package's answer (property)", () => {
  const reference = ignore().add([...DEFAULT_IGNORES]);
  const rules = new IgnoreRules("", true);
  const names = [
    ".DS_Store",
    ".ds_store",
    "._x",
    "._",
    "x._y",
    "Thumbs.db",
    "THUMBS.DB",
    "ehthumbs.db",
    "desktop.ini",
    "$RECYCLE.BIN",
    "$recycle.bin",
    "~$report.docx",
    "~$",
    "x~$y",
    ".~lock.notes.odt#",
    ".~lock.#",
    ".~lock.x",
    ".Spotlight-V100",
    ".Trashes",
    ".fseventsd",
    ".TemporaryItems",
    "a",
    "b.txt",
    "Thumbs.db.bak",
    "._.Trashes",
    "dir",
    ".~lockx#",
  ];
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      (parts, isDirectory) => {
        const path = parts.join("/");
        const expected = reference.ignores(isDirectory ? `${path}/` : path);
        assert.equal(rules.ignores(path, isDirectory), expected, `${path}${isDirectory ? "/" : ""}`);
      },
    ),
    { numRuns: 3000 },
  );
});
