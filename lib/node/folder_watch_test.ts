import assert from "node:assert/strict";
import { join } from "node:path";
import type { RescanHint } from "../watch/mod.ts";
import { writeMarker } from "./folder_marker.ts";
import { FolderWatch } from "./folder_watch.ts";
import { until } from "../../tests/support/wait.ts";

Deno.test("a stopped folder's root is looked at until its marker is back; then the new root is watched and scanned in full", async () => {
  const tmp = await Deno.makeTempDir();
  const root = join(tmp, "root");
  const hints: RescanHint[] = [];
  const failures: string[] = [];
  const watch = new FolderWatch(root, { onHint: (h) => hints.push(h), onFailure: (m) => failures.push(m), pollMs: 50 });
  try {
    await Deno.mkdir(root);
    await writeMarker(root);
    await watch.start();
    // The disk goes away: the root is moved and an empty mount point is left.
    await Deno.rename(root, join(tmp, "disk"));
    await Deno.mkdir(root);
    watch.stopped();
    await new Promise((r) => setTimeout(r, 300));
    const before = hints.length;
    assert.ok(!hints.some((h) => h.all), "no full scan is asked for while the marker is missing");
    // The disk is back (another directory): a full scan is asked for, and changes there are seen.
    await Deno.remove(root);
    await Deno.rename(join(tmp, "disk"), root);
    await until(() => hints.slice(before).some((h) => h.all), "the full scan after the marker came back");
    watch.resumed();
    // A look that began before resumed() may still be replacing the watcher: a write meanwhile is
    // covered by the full scan that look asks for once its watcher is ready.
    const written = hints.length;
    await Deno.writeTextFile(join(root, "after.txt"), "seen");
    await until(
      () => hints.some((h) => h.paths.has("after.txt")) || hints.slice(written).some((h) => h.all),
      "a change in the new root, or a full scan asked for after it",
    );
    assert.deepEqual(failures, []);
  } finally {
    watch.close();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a folder resumed by a command before a look found the marker is watched again", async () => {
  const root = await Deno.makeTempDir();
  const hints: RescanHint[] = [];
  const watch = new FolderWatch(root, { onHint: (h) => hints.push(h), onFailure: () => {}, pollMs: 60_000 });
  try {
    await watch.start();
    watch.stopped();
    watch.resumed();
    await until(() => hints.some((h) => h.all), "the full scan once watched again");
    await Deno.writeTextFile(join(root, "after.txt"), "seen");
    await until(() => hints.some((h) => h.paths.has("after.txt")), "a change after the resume");
  } finally {
    watch.close();
    await Deno.remove(root, { recursive: true });
  }
});
