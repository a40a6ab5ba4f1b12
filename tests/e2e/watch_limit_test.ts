import assert from "node:assert/strict";
import { join } from "node:path";
import { canLimitInotify, startLivePair } from "../support/peer.ts";
import { waitConverged } from "../support/tree.ts";

Deno.test({
  name: "too few inotify watches: one warning with the sysctl fix, and changes still sync by periodic scans",
  ignore: !canLimitInotify(),
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-watch-limit-" });
    try {
      await using pair = await startLivePair(
        tmp,
        async (a) => {
          for (let i = 0; i < 20; i++) await Deno.mkdir(join(a, `dir-${i}`));
        },
        ["--rescan-interval", "2"],
        { inotifyWatchLimit: 5 },
      );
      const { a, b, sharer } = pair;
      await sharer.waitFor(
        /cannot watch .*full scan every 2 s instead.*sudo sysctl fs\.inotify\.max_user_watches=524288/,
      );
      await Deno.writeTextFile(join(a, "dir-7/found-by-scan.txt"), "no watcher saw this\n");
      await waitConverged(a, b, "change found by the periodic scan", 20_000);
      assert.equal((sharer.stderr + sharer.stdout).match(/cannot watch/g)?.length, 1, "said once");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
