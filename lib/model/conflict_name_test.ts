import assert from "node:assert/strict";
import fc from "fast-check";
import { conflictName, parseConflictName } from "./conflict_name.ts";
import { baseName, MAX_NAME_BYTES, parentPath } from "./paths.ts";

const at = new Date(Date.UTC(2026, 10, 24, 9, 5, 7));
const SUFFIX = ".sync-conflict-20261124-090507-ABCDEFG";
const bytes = (s: string) => new TextEncoder().encode(s).length;
/** True when `s` has no lone surrogate, so that it encodes to valid UTF-8 and back unchanged. */
const isWellFormed = (s: string) => new TextDecoder("utf-8", { fatal: true }).decode(new TextEncoder().encode(s)) === s;

Deno.test("conflictName() keeps the suffix and extension and cuts the stem to fit 255 bytes", async (t) => {
  const cases: { description: string; path: string; want: string }[] = [
    { description: "a short name is not cut", path: "docs/report.txt", want: `docs/report${SUFFIX}.txt` },
    { description: "a name without extension", path: "Makefile", want: `Makefile${SUFFIX}` },
    { description: "a dot file has no extension", path: ".bashrc", want: `.bashrc${SUFFIX}` },
    {
      description: "a name that fits exactly is not cut",
      path: "a".repeat(MAX_NAME_BYTES - SUFFIX.length - 4) + ".txt",
      want: "a".repeat(MAX_NAME_BYTES - SUFFIX.length - 4) + `${SUFFIX}.txt`,
    },
    {
      description: "a 255-byte ASCII name loses the end of its stem",
      path: "dir/" + "a".repeat(251) + ".txt",
      want: "dir/" + "a".repeat(255 - SUFFIX.length - 4) + `${SUFFIX}.txt`,
    },
    {
      description: "three-byte characters are never split (213 bytes left: 71 whole characters)",
      path: "€".repeat(83) + ".txt",
      want: "€".repeat(71) + `${SUFFIX}.txt`,
    },
    {
      description: "a surrogate pair (4 bytes) is never split (213 bytes left: 53 whole characters)",
      path: "😀".repeat(62) + ".md",
      want: "😀".repeat(53) + `${SUFFIX}.md`,
    },
    {
      description: "a letter with its combining accent is kept or cut whole",
      // "é" (2 bytes) and a combining acute (2 bytes) that NFC leaves apart: one grapheme of 4 bytes.
      path: "\u00e9\u0301".repeat(60) + ".txt",
      want: "\u00e9\u0301".repeat(53) + `${SUFFIX}.txt`,
    },
    {
      description: "an absurdly long extension is cut as part of the stem",
      path: "x." + "e".repeat(250),
      want: "x." + "e".repeat(255 - SUFFIX.length - 2) + SUFFIX,
    },
    {
      description: "one grapheme longer than the room is cut between code points",
      path: "a" + "\u0301".repeat(126),
      want: "a" + "\u0301".repeat((255 - SUFFIX.length - 1) >> 1) + SUFFIX,
    },
  ];
  for (const c of cases) {
    await t.step(c.description, () => {
      const got = conflictName(c.path, at, "ABCDEFG");
      assert.equal(got, c.want);
      assert.ok(bytes(baseName(got)) <= MAX_NAME_BYTES);
      assert.equal(parseConflictName(got)?.shortId, "ABCDEFG");
    });
  }
});

Deno.test("parseConflictName() reads names with line breaks in them", () => {
  assert.deepEqual(parseConflictName(`a\nb${SUFFIX}.txt`)?.original, "a\nb.txt");
});

Deno.test("conflictName() of any name up to 255 bytes fits, is valid UTF-8, parses back and stays beside the original", () => {
  // Names from every plane (multi-byte characters, combining marks, emoji), cut to 255 bytes.
  const unit = fc.oneof(
    fc.constantFrom(".", "a", "\u0301", "€", "😀"),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
  );
  const name = fc.string({ unit, maxLength: 255, size: "max" })
    .map((s) => s.replaceAll("/", "_").normalize("NFC"))
    .map((s) => {
      let out = "";
      for (const ch of s) {
        if (bytes(out + ch) > MAX_NAME_BYTES) break;
        out += ch;
      }
      return out;
    })
    .filter((s) => s !== "" && s !== "." && s !== "..");
  fc.assert(
    fc.property(
      fc.constantFrom("", "d/", "a/€/"),
      name,
      fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }),
      (dir, n, when) => {
        const path = dir + n;
        const got = conflictName(path, when, "ABCDEFG");
        assert.ok(bytes(baseName(got)) <= MAX_NAME_BYTES, `${bytes(baseName(got))} bytes`);
        assert.ok(isWellFormed(got));
        assert.equal(got, got.normalize("NFC"));
        assert.equal(parentPath(got), parentPath(path));
        const parsed = parseConflictName(got);
        assert.equal(parsed?.shortId, "ABCDEFG");
        assert.equal(parsed.at.getTime(), Math.floor(when.getTime() / 1000) * 1000);
        if (bytes(n) + SUFFIX.length <= MAX_NAME_BYTES) assert.equal(parsed.original, path);
      },
    ),
    { numRuns: 1000 },
  );
});
