import assert from "node:assert/strict";
import { join } from "node:path";
import type { ConflictReport, StatusReport } from "../../mod.ts";
import { FsyncProcess, startLivePair } from "../support/peer.ts";

async function statusOf(home: string): Promise<StatusReport> {
  const r = await FsyncProcess.run(["--home", home, "status", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Polls `fsync status --json` until `check` holds. */
async function statusUntil(home: string, what: string, check: (s: StatusReport) => boolean): Promise<StatusReport> {
  const deadline = Date.now() + 30_000;
  while (true) {
    const s = await statusOf(home);
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}\n${JSON.stringify(s, null, 2)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

Deno.test("status and conflicts: from the running node over its control socket, and from the store when none runs", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-status-" });
  const [homeA, homeB] = [join(tmp, "home-a"), join(tmp, "home-b")];
  try {
    await using pair = await startLivePair(tmp, async (a) => {
      await Deno.mkdir(join(a, "d"));
      await Deno.writeTextFile(join(a, "d/f.txt"), "f");
      await Deno.writeTextFile(join(a, "d/.DS_Store"), "junk"); // ignored by default: never synced
      await Deno.writeTextFile(join(a, "x.txt"), "x");
    });
    const { a, b, sharer, joiner } = pair;

    await t.step("a running node answers: folders, peers connected, in sync", async () => {
      const s = await statusUntil(homeA, "in sync", (s) => s.folders[0]?.peers[0]?.inSync === true);
      assert.equal(s.running, true);
      assert.equal(s.folders.length, 1);
      const [folder] = s.folders;
      assert.equal(folder.label, "a");
      assert.equal(folder.mode, "send-receive");
      assert.equal(folder.files, 2, "d/f.txt and x.txt (the ignored file is not indexed)");
      assert.equal(folder.peers[0].connected, true);
      assert.equal(s.peers.length, 1);
      assert.equal(s.peers[0].connected, true);
      assert.equal(s.lastError, null);
      const text = await FsyncProcess.run(["--home", homeA, "status"]);
      assert.match(text.stdout, /^fsync is running on this home$/m);
      assert.match(text.stdout, /^folder "a" .* \(send-receive\): 2 files, /m);
      assert.match(text.stdout, /^ {2}.* \([A-Z2-7]{7}\): connected, in sync, sent it \d+ B$/m);
      assert.ok(folder.peers[0].bytesSent > 0, "the joiner was sent both files");
    });

    await t.step("what is still needed and from whom, and the last problem", async () => {
      // The joiner deletes d/; the sharer cannot: its d/ holds an ignored file.
      await Deno.remove(join(b, "d"), { recursive: true });
      const s = await statusUntil(homeA, "d needed", (s) => s.folders[0].peers[0].needFiles === 1);
      assert.equal(s.folders[0].peers[0].inSync, false);
      assert.match(s.lastError?.message ?? "", /d.*not empty on this device/);
      assert.equal(s.lastError?.folder, "a");
      const text = await FsyncProcess.run(["--home", homeA, "status"]);
      assert.match(text.stdout, /needs 1 files \(0 B\) from it/);
      assert.match(text.stdout, /^last problem \(.*\): \[a [A-Z2-7]{7}\] cannot sync d: /m);
    });

    await t.step("conflicts lists each copy with both versions' origins and times", async () => {
      const none = await FsyncProcess.run(["--home", homeB, "conflicts"]);
      assert.equal(none.stdout.trim(), "no conflict copies");
      await joiner.stop();
      await Deno.writeTextFile(join(b, "x.txt"), "b's edit");
      await Deno.utime(join(b, "x.txt"), new Date(1_700_000_000_000), new Date(1_700_000_000_000));
      await Deno.writeTextFile(join(a, "x.txt"), "a's later edit");
      await new Promise((r) => setTimeout(r, 1000)); // the sharer's watcher records its edit
      await using rejoined = FsyncProcess.start(["--home", homeB, "sync"]);
      const deadline = Date.now() + 30_000;
      let list: ConflictReport[] = [];
      while (list.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        list = JSON.parse((await FsyncProcess.run(["--home", homeB, "conflicts", "--json"])).stdout);
      }
      await rejoined.stop();
      assert.equal(list.length, 1, rejoined.log());
      const [c] = list;
      const idOfB = (await FsyncProcess.run(["--home", homeB, "id"])).stdout.slice(0, 7);
      const idOfA = (await statusOf(homeB)).peers[0].deviceId.slice(0, 7);
      assert.equal(c.folder, "a");
      assert.equal(c.original, "x.txt");
      assert.match(c.copy, /^x\.sync-conflict-\d{8}-\d{6}-[A-Z2-7]{7}\.txt$/);
      assert.equal(c.copyOrigin, idOfB);
      assert.equal(c.copyModified, new Date(1_700_000_000_000).toISOString());
      assert.equal(c.originalOrigin, idOfA);
      assert.equal(await Deno.readTextFile(join(b, c.copy)), "b's edit");
      const text = await FsyncProcess.run(["--home", homeB, "conflicts"]);
      assert.match(
        text.stdout,
        /^\[a\] x\.sync-conflict-.*: [A-Z2-7]{7}'s version of 2023-11-14T22:13:20\.000Z, kept at .*; x\.txt now holds [A-Z2-7]{7}'s version of /m,
      );
    });

    await t.step("with no node running, status reads the store", async () => {
      await sharer.stop();
      const s = await statusOf(homeA);
      assert.equal(s.running, false);
      assert.equal(s.folders[0].peers[0].connected, false);
      assert.equal(s.folders[0].peers[0].needFiles, 1, "still needs d/ from the joiner");
      assert.ok(s.peers[0].lastSeen && Date.parse(s.peers[0].lastSeen) > Date.now() - 120_000, "last seen recorded");
      assert.match(s.lastError?.message ?? "", /not empty/, "the last problem is kept in the store");
      assert.equal(s.folders[0].conflicts, 1, "the conflict copy reached the sharer");
      const text = await FsyncProcess.run(["--home", homeA, "status"]);
      assert.match(text.stdout, /^fsync is not running \(read from the store\)$/m);
      assert.match(text.stdout, /: last seen 20\d\d-\S+Z, needs 1 files/);
      assert.equal(s.folders[0].peers[0].lastSeen, s.peers[0].lastSeen, "the folder's peer: when last seen");
    });

    await t.step("a home without fsync state: exit 2, one line", async () => {
      const r = await FsyncProcess.run(["--home", join(tmp, "nothing"), "status"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr.trim(), /^fsync: no fsync state in .*nothing/);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
