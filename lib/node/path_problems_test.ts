import assert from "node:assert/strict";
import { PathProblems } from "./path_problems.ts";

Deno.test("PathProblems says a problem is new once, until its reason changes", () => {
  const problems = new PathProblems();
  assert.equal(problems.set("a", "case twin", "pull"), true);
  assert.equal(problems.set("a", "case twin", "pull"), false);
  assert.equal(problems.set("a", "disk full", "pull"), true);
  problems.clear("a", "pull");
  assert.equal(problems.set("a", "disk full", "pull"), true, "new again once it was fine in between");
});

Deno.test("PathProblems: each origin clears only its own, and settle keeps what was found again", () => {
  const problems = new PathProblems();
  problems.set("d/x", "unreadable", "scan");
  problems.set("d/y", "not UTF-8", "scan");
  problems.set("d/sub/z", "not UTF-8", "scan");
  problems.set("e/x", "not UTF-8", "scan");
  problems.set("d/twin", "case twin", "pull");
  problems.clear("d/twin", "scan");
  assert.equal(problems.size, 5);
  // A scan of d found only d/y again: d/x and d/sub/z are fine now; e and the pull's stay.
  problems.settle("scan", ["d"], new Set(["d/y"]));
  assert.deepEqual(problems.list().map((p) => p.path), ["d/twin", "d/y", "e/x"]);
  problems.settle("scan", undefined, new Set());
  assert.deepEqual(problems.list(), [{ path: "d/twin", message: "case twin" }]);
  problems.set("a", "one", "pull");
  assert.deepEqual(problems.list(1).map((p) => p.path), ["a"]);
});
