import assert from "node:assert/strict";
import { join } from "node:path";
import { readFull } from "../scan/mod.ts";
import { Store } from "../store/mod.ts";
import { FolderRunner, type PullProgress } from "./folder_runner.ts";
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

Deno.test("a pull reports its totals from the start, and its last report has every file and byte done", async () => {
  const source = await Deno.makeTempDir();
  const target = await Deno.makeTempDir();
  const [storeA, storeB] = [await Store.open(":memory:"), await Store.open(":memory:")];
  try {
    const folder = { id: "f1", label: "f1", indexId: "i1" };
    const options = { logger: silentLogger, nowMs: () => Date.now() };
    const a = new FolderRunner({ ...folder, path: source }, storeA, { ...options, shortId: "AAAAAAA" });
    for (let i = 0; i < 40; i++) await Deno.writeTextFile(join(source, `file-${i}`), "x".repeat(i * 100));
    await a.scan();
    const files = await Array.fromAsync(storeA.listLocal("f1"));
    await storeB.applyRemote("f1", "PEER", files, { indexId: "i1", sequence: files.length });
    const reports: PullProgress[] = [];
    const b = new FolderRunner({ ...folder, path: target }, storeB, {
      ...options,
      shortId: "BBBBBBB",
      onPullProgress: (p) => reports.push(p),
    });
    const result = await b.pullFrom("PEER", {
      fetchBlock: async (want) => {
        using file = await Deno.open(join(source, want.path));
        await file.seek(want.offset, Deno.SeekMode.Start);
        const data = new Uint8Array(want.size);
        await readFull(file, data);
        return data;
      },
    });
    assert.equal(result.problems.length, 0);
    assert.equal(result.written, 40);
    const bytes = files.reduce((n, f) => n + f.size, 0);
    assert.deepEqual(reports.at(-1), {
      peerId: "PEER",
      filesTotal: 40,
      filesDone: 40,
      bytesTotal: bytes,
      bytesFetched: bytes,
      bytesReused: 0,
      done: true,
    });
    assert.ok(
      reports.every((r) => r.filesTotal === 40 && r.bytesTotal === bytes),
      "totals are known from the first report",
    );
  } finally {
    storeA.close();
    storeB.close();
    await Deno.remove(source, { recursive: true });
    await Deno.remove(target, { recursive: true });
  }
});
