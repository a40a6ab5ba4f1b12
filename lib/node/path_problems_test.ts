import assert from "node:assert/strict";
import { PathProblems } from "./path_problems.ts";

Deno.test("PathProblems says a problem is new once, until its reason changes (numbers aside)", () => {
  const problems = new PathProblems();
  assert.equal(problems.set("a", "case twin", "pull:P"), true);
  assert.equal(problems.set("a", "case twin", "pull:P"), false);
  assert.equal(problems.set("a", "disk full: needs 6.0 MiB, 1.2 MiB free", "pull:P"), true);
  assert.equal(problems.set("a", "disk full: needs 6.0 MiB, 0.9 MiB free", "pull:P"), false);
  problems.clear("a", "pull:P");
  assert.equal(problems.set("a", "disk full: needs 6.0 MiB, 0.9 MiB free", "pull:P"), true, "new again once fine");
});

Deno.test("PathProblems: each origin (the scan, the pull from each peer) clears only its own", () => {
  const problems = new PathProblems();
  problems.set("d/x", "unreadable", "scan");
  problems.set("d/y", "not UTF-8", "scan");
  problems.set("d/sub/z", "not UTF-8", "scan");
  problems.set("e/x", "not UTF-8", "scan");
  problems.set("d/twin", "case twin", "pull:P");
  problems.set("d/twin", "case twin", "pull:Q");
  problems.set("d/y", "disk full", "pull:Q");
  problems.clear("d/twin", "scan");
  assert.equal(problems.size, 5);
  // A scan of d found only d/y again: d/x and d/sub/z are fine now; e and the pulls' stay.
  problems.settle("scan", ["d"], new Set(["d/y"]));
  assert.deepEqual(problems.list().map((p) => p.path), ["d/twin", "d/y", "e/x"]);
  // A whole pass from P found nothing: Q's problems stay.
  problems.settle("pull:P", undefined, new Set());
  problems.settle("scan", undefined, new Set());
  assert.deepEqual(problems.list(), [{ path: "d/twin", message: "case twin" }, { path: "d/y", message: "disk full" }]);
  problems.settle("pull:Q", undefined, new Set());
  assert.deepEqual(problems.list(), []);
  problems.set("a", "one", "scan");
  problems.set("b", "two", "scan");
  assert.deepEqual(problems.list(1).map((p) => p.path), ["a"]);
});
