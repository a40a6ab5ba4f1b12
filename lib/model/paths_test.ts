import assert from "node:assert/strict";
import fc from "fast-check";
import { PathEscapeError } from "./errors.ts";
import { baseName, parentPath, pathDepth, utf8Length, validateRelativePath } from "./paths.ts";

Deno.test("validateRelativePath() accepts safe relative paths", async (t) => {
  for (const path of ["a", "a/b/c.txt", "spaces in/na me", "Ünïcödé/日本語.txt", ".hidden", "a/.b", "..a", "a..b"]) {
    await t.step(path, () => assert.equal(validateRelativePath(path), path));
  }
});

Deno.test("validateRelativePath() rejects every way out of the folder", async (t) => {
  const cases = [
    { description: "parent component", path: "../etc/passwd", why: /"\.\." component/ },
    { description: "parent in the middle", path: "a/../../b", why: /"\.\." component/ },
    { description: "absolute", path: "/etc/passwd", why: /absolute/ },
    { description: "backslash", path: "a\\..\\b", why: /backslash/ },
    { description: "NUL", path: "a\0b", why: /NUL/ },
    { description: "drive prefix", path: "C:/Windows", why: /drive prefix/ },
    { description: "empty", path: "", why: /empty/ },
    { description: "empty component", path: "a//b", why: /"" component/ },
    { description: "trailing slash", path: "a/", why: /"" component/ },
    { description: "dot component", path: "./a", why: /"\." component/ },
    { description: "not NFC", path: "e\u0301.txt", why: /NFC/ },
    { description: "name over 255 bytes", path: "x".repeat(256), why: /255/ },
    { description: "path over 4096 bytes", path: Array(20).fill("y".repeat(250)).join("/"), why: /4096/ },
    { description: "fsync temporary name", path: "a/.fsync-tmp-0123", why: /temporary/ },
  ];
  for (const c of cases) {
    await t.step(c.description, () => {
      assert.throws(() => validateRelativePath(c.path), (e) => e instanceof PathEscapeError && c.why.test(e.message));
    });
  }
});

Deno.test("path helpers split relative paths", () => {
  assert.equal(parentPath("a/b/c"), "a/b");
  assert.equal(parentPath("c"), "");
  assert.equal(baseName("a/b/c.txt"), "c.txt");
  assert.equal(pathDepth("a/b/c"), 3);
});

Deno.test("utf8Length() is the length TextEncoder encodes, for any text (lone surrogates too)", () => {
  const encoder = new TextEncoder();
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => assert.equal(utf8Length(text), encoder.encode(text).length)),
    { numRuns: 2_000 },
  );
});
