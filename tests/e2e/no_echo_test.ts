import assert from "node:assert/strict";
import { join } from "node:path";
import { RECENT_MS } from "../../lib/scan/mod.ts";
import { Store } from "../../lib/store/mod.ts";
import { startLivePair } from "../support/peer.ts";
import { waitConverged } from "../support/tree.ts";

/** The version vectors of every path in a stopped device's index. */
async function versions(home: string): Promise<Map<string, Record<string, number>>> {
  const store = await Store.open(join(home, "index.kv"));
  try {
    const [folder] = await store.listFolders();
    const out = new Map<string, Record<string, number>>();
    for await (const f of store.listLocal(folder.id)) out.set(f.path, { ...f.version });
    return out;
  } finally {
    store.close();
  }
}

Deno.test("what a peer writes into the folder does not come back as its own change (no echo)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-echo-" });
  try {
    await using pair = await startLivePair(tmp);
    const { a, b, sharer, joiner } = pair;
    await Deno.writeTextFile(join(a, "from-a.txt"), "a\n");
    await Deno.mkdir(join(a, "dir-a"));
    await Deno.writeTextFile(join(b, "from-b.txt"), "b\n");
    await waitConverged(a, b, "both files");
    // Past the recheck of recent files on both sides, and the watcher events of the pulls.
    await new Promise((r) => setTimeout(r, RECENT_MS + 1_000));
    await waitConverged(a, b, "still");
    await joiner.stop("SIGTERM");
    await sharer.stop("SIGTERM");

    const onA = await versions(join(tmp, "home-a"));
    const onB = await versions(join(tmp, "home-b"));
    assert.deepEqual(onA, onB, "both indexes hold the same versions");
    const [writerA] = Object.keys(onA.get("from-a.txt")!);
    const [writerB] = Object.keys(onA.get("from-b.txt")!);
    assert.notEqual(writerA, writerB);
    assert.deepEqual(onA.get("from-a.txt"), { [writerA]: 1 }, "one version, by its writer only");
    assert.deepEqual(onA.get("dir-a"), { [writerA]: 1 });
    assert.deepEqual(onA.get("from-b.txt"), { [writerB]: 1 });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
