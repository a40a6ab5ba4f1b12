import assert from "node:assert/strict";
import { join } from "node:path";
import { makeInvalidUtf8File } from "../../tests/support/tree.ts";
import { FolderWatcher, type RescanHint } from "./folder_watcher.ts";
import { until } from "../../tests/support/wait.ts";

Deno.test("a name that is not UTF-8 does not end watching: the folder is watched again, rescanned in full, and later changes are seen", async () => {
  const root = await Deno.makeTempDir();
  const hints: RescanHint[] = [];
  const failures: string[] = [];
  const watcher = new FolderWatcher({ root, onHint: (h) => hints.push(h), onFailure: (m) => failures.push(m) });
  try {
    await watcher.ready;
    await Deno.writeTextFile(join(root, "before.txt"), "1");
    await until(() => hints.some((h) => h.paths.has("before.txt")), "the first change");
    await makeInvalidUtf8File(root, "bad-");
    await until(() => hints.some((h) => h.all), "a full rescan after watching again");
    await Deno.writeTextFile(join(root, "after.txt"), "2");
    await until(() => hints.some((h) => h.paths.has("after.txt")), "a change after the bad name");
    assert.deepEqual(failures, []);
  } finally {
    watcher.close();
    await Deno.remove(root, { recursive: true });
  }
});
