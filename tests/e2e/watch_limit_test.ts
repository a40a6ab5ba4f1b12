import assert from "node:assert/strict";
import { join } from "node:path";
import { canLimitInotify, FsyncProcess, startSharer } from "../support/peer.ts";
import { waitConverged } from "../support/tree.ts";

Deno.test({
  name: "too few inotify watches: one warning with the sysctl fix, and changes still sync by periodic scans",
  ignore: !canLimitInotify(),
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-watch-limit-" });
    try {
      const a = join(tmp, "a");
      const b = join(tmp, "b");
      for (let i = 0; i < 20; i++) await Deno.mkdir(join(a, `dir-${i}`), { recursive: true });
      const { sharer, invite } = await startSharer(a, join(tmp, "home-a"), 0, ["--rescan-interval", "2"], {
        inotifyWatchLimit: 5,
      });
      await using _a = sharer;
      await using joiner = FsyncProcess.start(["--home", join(tmp, "home-b"), "join", invite, b, "--yes"]);
      await joiner.waitFor(/In sync:/);
      await sharer.waitFor(
        /cannot watch .*full scan every 2 s instead.*\(now 5\).*sudo sysctl fs\.inotify\.max_user_watches=524288/,
      );
      await Deno.writeTextFile(join(a, "dir-7/found-by-scan.txt"), "no watcher saw this\n");
      await waitConverged(a, b, "change found by the periodic scan", 20_000);
      assert.equal((sharer.stderr + sharer.stdout).match(/cannot watch/g)?.length, 1, "said once");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
