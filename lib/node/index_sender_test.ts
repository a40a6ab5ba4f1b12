import assert from "node:assert/strict";
import { contentHashOf, type FileInfo } from "../model/mod.ts";
import type { Message, PeerSession } from "../net/mod.ts";
import { Store } from "../store/mod.ts";
import type { FolderRunner } from "./folder_runner.ts";
import { sendIndex } from "./index_sender.ts";
import { Signal } from "./_signal.ts";

/** A file entry of `blocks` blocks of 100 KiB. */
function large(path: string, blocks: number): FileInfo {
  const blockHashes = new Uint8Array(blocks * 32).map((_, i) => (i * 31 + path.length) & 0xff);
  return {
    path,
    type: "file",
    size: blocks * 102_400,
    mtimeNs: 1n,
    mode: 0o644,
    deleted: false,
    version: { AAAAAAA: 1 },
    sequence: 0,
    blockSizes: new Uint32Array(blocks).fill(102_400),
    blockHashes,
    contentHash: contentHashOf(blockHashes),
    symlinkTarget: "",
    modifiedBy: "AAAAAAA",
    inode: 0,
  };
}

Deno.test("sendIndex: a large entry goes out beside what fits, never on top of a full batch (about 1 MiB, 36 bytes a block)", async () => {
  const store = await Store.open(":memory:");
  try {
    // Five entries of 9,000 blocks (about 324 KB each): three fit a batch, a fourth would not.
    await store.commitLocal("f1", Array.from({ length: 5 }, (_, i) => large(`big-${i}.img`, 9_000)));
    const sent: Message[] = [];
    let closed = false;
    let end!: () => void;
    const ended = new Promise<void>((resolve) => end = resolve);
    const session = {
      get closed() {
        return closed;
      },
      ended,
      send(message: Message) {
        sent.push(message);
        if (message.type === "indexUpdate" && message.maxSequence === message.files.at(-1)?.sequence) {
          closed = true;
          end();
        }
        return Promise.resolve();
      },
    } as unknown as PeerSession;
    const runner = {
      folder: { id: "f1" },
      mode: "send-receive",
      localChanged: new Signal(),
    } as unknown as FolderRunner;
    await sendIndex({ store, shortId: "AAAAAAA", closed: () => closed }, session, runner, { read: 0, sent: 0 });
    const batches = sent.flatMap((m) => m.type === "indexUpdate" ? [m.files] : []);
    assert.deepEqual(batches.map((b) => b.length), [3, 2]);
    for (const batch of batches) {
      const bytes = batch.reduce((n, f) => n + 200 + f.path.length + 36 * f.blockSizes.length, 0);
      assert.ok(bytes <= 1 << 20, `a batch of ${bytes} bytes`);
    }
  } finally {
    store.close();
  }
});
