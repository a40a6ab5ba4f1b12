/**
 * How long a running device takes to answer `fsync status` (what the control socket serves)
 * for a folder of `files` files shared with one peer that holds a newer version of a tenth of
 * them: the first answer (which counts), then answers with nothing changed, then answers after
 * a few files changed. The peer's index is written straight into the store (as if announced).
 */
import { join } from "node:path";
import { Device } from "../../mod.ts";
import { contentHashOf, sha256 } from "../../lib/model/mod.ts";
import { Store } from "../../lib/store/mod.ts";
import { generateTree } from "../../tests/support/gen_tree.ts";

const PEER = "BENCHPE-ERBENCH-PEERBEN-CHPEERB-ENCHPEE-RBENCHP-EERBENC-HPE";

/** Seconds of the first answer, and the median of later ones unchanged and after small changes. */
export interface StatusLatency {
  readonly files: number;
  readonly firstSeconds: number;
  readonly unchangedMedianSeconds: number;
  readonly afterChangeMedianSeconds: number;
}

export async function measureStatusLatency(files: number): Promise<StatusLatency> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-status-" });
  try {
    const dir = join(tmp, "folder");
    const home = join(tmp, "home");
    await Deno.mkdir(dir);
    await generateTree(dir, { smallFiles: files, maxSmallBytes: 64, largeFiles: [], seed: 5 });
    const setup = await Device.start({ home, watch: false });
    const folder = await setup.addFolder(dir, "bench");
    await setup.close();
    // The peer: every entry, a tenth of them in a newer version of its own.
    const store = await Store.open(join(home, "index.kv"));
    let sequence = 0;
    let batch = [];
    for await (const f of store.listLocal(folder.id)) {
      const newer = ++sequence % 10 === 0;
      const content = newer && f.type === "file" ? sha256(new TextEncoder().encode(`newer ${f.path}`)) : undefined;
      batch.push({
        ...f,
        sequence,
        version: content ? { ...f.version, BENCHPE: 1 } : f.version,
        ...content ? { blockHashes: content, contentHash: contentHashOf(content) } : {},
      });
      if (batch.length === 1000) {
        await store.applyRemote(folder.id, PEER, batch, { indexId: "bench", sequence });
        batch = [];
      }
    }
    await store.applyRemote(folder.id, PEER, batch, { indexId: "bench", sequence });
    await store.addShare(folder.id, PEER);
    await store.putPeer({ deviceId: PEER, name: "peer", address: "", trusted: true, invitedTo: [], lastSeenMs: 0 });
    store.close();

    const device = await Device.start({ home, watch: false });
    try {
      const time = async () => {
        const started = performance.now();
        const report = await device.status();
        if (report.folders[0].peers[0].needFiles === 0) throw new Error("the bench peer should be ahead");
        return (performance.now() - started) / 1000;
      };
      const firstSeconds = await time();
      const unchanged = [];
      for (let i = 0; i < 9; i++) unchanged.push(await time());
      const afterChange = [];
      for (let i = 0; i < 9; i++) {
        await Deno.writeTextFile(join(dir, `changed-${i}.txt`), `change ${i}`);
        await device.folderAction(folder.id, "rescan");
        afterChange.push(await time());
      }
      return {
        files,
        firstSeconds,
        unchangedMedianSeconds: median(unchanged),
        afterChangeMedianSeconds: median(afterChange),
      };
    } finally {
      await device.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
