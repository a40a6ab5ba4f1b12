import assert from "node:assert/strict";
import { join } from "node:path";
import type { StatusReport } from "../../mod.ts";
import { FsyncProcess, startLivePair } from "../support/peer.ts";
import { makeInvalidUtf8File, waitContent } from "../support/tree.ts";

async function statusUntil(home: string, what: string, check: (s: StatusReport) => boolean): Promise<StatusReport> {
  const deadline = Date.now() + 30_000;
  while (true) {
    const r = await FsyncProcess.run(["--home", home, "status", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s: StatusReport = JSON.parse(r.stdout);
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}\n${JSON.stringify(s, null, 2)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

Deno.test("a name that is not UTF-8, made while watched: reported once in the log and in status, escaped; the watcher goes on; renamed, it syncs", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-odd-names-" });
  const homeA = join(tmp, "home-a");
  try {
    await using pair = await startLivePair(tmp);
    const { a, b, sharer } = pair;
    const name = await makeInvalidUtf8File(a, "bad-", "bytes");
    // Changes after it still arrive in well under the hourly full scan: the watcher lives.
    for (const file of ["after-1.txt", "after-2.txt", "after-3.txt"]) {
      await Deno.writeTextFile(join(a, file), file);
      await waitContent(join(b, file), file, 15_000);
    }
    const s = await statusUntil(homeA, "the bad name listed", (s) => s.folders[0].unsyncableCount === 1);
    assert.equal(s.folders[0].unsyncable[0].path, name);
    assert.match(s.folders[0].unsyncable[0].message, /not valid UTF-8/);
    const text = await FsyncProcess.run(["--home", homeA, "status"]);
    assert.match(
      text.stdout,
      /^ {2}cannot sync 1 path:\n {4}bad-\\ufffd\\ufffd: not synced: its name is not valid UTF-8/m,
    );
    // Two more full scans meet it again: it is still said once.
    for (let i = 0; i < 2; i++) {
      const rescan = await FsyncProcess.run(["--home", homeA, "folder", "rescan", "a"]);
      assert.equal(rescan.code, 0, rescan.stderr);
    }
    assert.equal([...sharer.stderr.matchAll(/not valid UTF-8/g)].length, 1, sharer.log());
    assert.doesNotMatch(sharer.stderr, /cannot watch/);

    const renamed = await new Deno.Command("sh", { args: ["-c", `mv "$1"/bad-* "$1/renamed.txt"`, "sh", a] }).output();
    assert.equal(renamed.code, 0);
    await waitContent(join(b, "renamed.txt"), "bytes", 15_000);
    await statusUntil(homeA, "nothing unsyncable", (s) => s.folders[0].unsyncableCount === 0);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
