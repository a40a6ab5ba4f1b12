/**
 * The Syncthing anchor: a tree sent by one headless Syncthing to another on 127.0.0.1 (see
 * syncthing_instance.ts for how each is isolated).
 */
import { join } from "node:path";
import { sampleUsage, usageWhile } from "../../tests/support/usage.ts";
import { SyncthingInstance } from "./syncthing_instance.ts";
import type { SyncRun } from "./sync_run.ts";

const FOLDER = "bench";
const TIMEOUT_MS = 900_000;

/**
 * Sends `src` from a Syncthing sharing it send-only to one receiving it receive-only into a new
 * directory, both with homes under `tmp` (all removed afterwards). Before the clock starts: both
 * run, trust each other and are connected, and the sender has added the folder and scanned it.
 * Timed: from the request that adds the folder on the receiver until the receiver's
 * /rest/db/status says idle, nothing needed, and as many files as `src` holds regular files both
 * in the global and in the local index (asked each time the folder becomes idle, see
 * SyncthingInstance.waitFolder). CPU seconds of each side: its process's over that span. Peak
 * RSS: each process's since it started (the sender's scan included). The sender's folder marker
 * is `.`, the root itself, so Syncthing writes nothing into `src`.
 */
export async function measureSyncthing(tmp: string, src: string): Promise<SyncRun> {
  const files = await countFiles(src); // fsync's marker (.fsyncfolder) among them, once fsync has shared src
  const dir = await Deno.makeTempDir({ dir: tmp, prefix: "syncthing-" });
  try {
    await using sender = await SyncthingInstance.start(join(dir, "sender-home"));
    await using receiver = await SyncthingInstance.start(join(dir, "receiver-home"));
    await sender.addDevice(receiver);
    await receiver.addDevice(sender);
    await sender.addFolder({ id: FOLDER, path: src, type: "sendonly", markerName: "." }, receiver);
    await sender.waitFolder(FOLDER, `done scanning ${src}`, TIMEOUT_MS, (s) => {
      const scanned = s.state === "idle" && s.localTotalItems > 0;
      if (scanned && s.localFiles !== files) throw new Error(`it indexed ${s.localFiles} files, not ${files}`);
      return scanned;
    });
    await receiver.waitConnected(sender);
    const atStart = await Promise.all(
      [sender.pid, receiver.pid].map((pid) => sampleUsage(pid, { peakRssBytes: 0, cpuSeconds: 0 })),
    );
    const started = performance.now();
    await receiver.addFolder({ id: FOLDER, path: join(dir, "copy"), type: "receiveonly" }, sender);
    const done = receiver.waitFolder(FOLDER, `done receiving ${files} files`, TIMEOUT_MS, (s) => {
      if (s.pullErrors > 0) throw new Error(`${s.pullErrors} pull errors`);
      return s.state === "idle" && s.needTotalItems === 0 && s.globalFiles === files && s.localFiles === files;
    });
    const [senderUsage, receiverUsage] = await usageWhile([sender.pid, receiver.pid], done);
    await done;
    const seconds = (performance.now() - started) / 1000;
    senderUsage.cpuSeconds -= atStart[0].cpuSeconds;
    receiverUsage.cpuSeconds -= atStart[1].cpuSeconds;
    return { seconds, sender: senderUsage, receiver: receiverUsage };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** How many regular files are under `dir` (not directories or symlinks: what Syncthing counts as files). */
async function countFiles(dir: string): Promise<number> {
  let files = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) files++;
    else if (entry.isDirectory) files += await countFiles(join(dir, entry.name));
  }
  return files;
}
