import assert from "node:assert/strict";
import { join } from "node:path";
import { Store } from "../store/mod.ts";
import { FolderRunner } from "./folder_runner.ts";
import { silentLogger } from "./logger.ts";

async function withRunner(fn: (root: string, runner: FolderRunner, store: Store) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  const store = await Store.open(":memory:");
  try {
    const folder = { id: "f1", label: "f1", path: root, indexId: "i1" };
    await fn(
      root,
      new FolderRunner(folder, store, { shortId: "ME00000", logger: silentLogger, nowMs: () => Date.now() }),
      store,
    );
  } finally {
    store.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("scan requests made while one waits join it: one scan of all their paths", () =>
  withRunner(async (root, runner, store) => {
    for (const name of ["a", "b", "c", "unhinted"]) await Deno.writeTextFile(join(root, name), name);
    const requests = [runner.requestScan(["a"]), runner.requestScan(["b"]), runner.requestScan(["c", "a"])];
    assert.equal(requests[0], requests[1]);
    assert.equal(requests[0], requests[2]);
    assert.equal(await requests[0], 3);
    assert.deepEqual((await Array.fromAsync(store.listLocal("f1"))).map((f) => f.path), ["a", "b", "c"]);
  }));

Deno.test("a waiting scan that gathers too many paths becomes a full scan", () =>
  withRunner(async (root, runner, store) => {
    for (const name of ["a", "b", "unhinted"]) await Deno.writeTextFile(join(root, name), name);
    const first = runner.requestScan(["a"]);
    void runner.requestScan(Array.from({ length: 10_001 }, (_, i) => `gone-${i}`));
    assert.equal(await first, 3);
    assert.deepEqual((await Array.fromAsync(store.listLocal("f1"))).map((f) => f.path), ["a", "b", "unhinted"]);
  }));
