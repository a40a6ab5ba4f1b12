import type { FileInfo } from "../model/mod.ts";
import { MAX_INDEX_BATCH, type PeerSession, PeerUnreachableError } from "../net/mod.ts";
import type { Store } from "../store/mod.ts";
import type { FolderRunner } from "./folder_runner.ts";

/** Encoded size an index batch stays under unless one entry alone is larger (messages are capped at 4 MiB). */
const INDEX_BATCH_BYTES = 1 << 20;

/** What an index sender uses of its device. */
export interface IndexSenderContext {
  readonly store: Store;
  /** This device's short ID (a receive-only folder withholds its own changes). */
  readonly shortId: string;
  closed(): boolean;
}

/**
 * Sends a folder's local index to a peer from sequence `progress.read` on, then every change
 * as it is committed, until the session or the device ends; `progress` says how far it has
 * read the index and sent entries of it. A receive-only folder does not send this device's
 * own changes; the announced maxSequence then ends at the last entry sent, so the peer can
 * tell it has everything.
 */
export async function sendIndex(
  ctx: IndexSenderContext,
  session: PeerSession,
  runner: FolderRunner,
  progress: { read: number; sent: number },
): Promise<void> {
  const folderId = runner.folder.id;
  const withheld = (file: FileInfo) => runner.mode === "receive-only" && file.modifiedBy === ctx.shortId;
  let first = true;
  try {
    while (!session.closed && !ctx.closed()) {
      const changed = runner.localChanged.wait();
      let files: FileInfo[] = [];
      let bytes = 0;
      let skipped = false;
      const flush = async (last: boolean) => {
        if (files.length > 0) progress.sent = files[files.length - 1].sequence;
        const maxSequence = last && skipped ? progress.sent : await ctx.store.localSequence(folderId);
        await session.send({ type: "indexUpdate", folderId, files, maxSequence });
        files = [];
        bytes = 0;
        first = false;
      };
      for await (const file of ctx.store.localSince(folderId, progress.read)) {
        progress.read = file.sequence;
        if (withheld(file)) {
          skipped = true;
          continue;
        }
        // A large file's entry (36 bytes a block) goes out with what fits beside it, never on top of a full batch.
        const entryBytes = 200 + file.path.length + file.blockHashes.length + 4 * file.blockSizes.length;
        if (files.length > 0 && bytes + entryBytes > INDEX_BATCH_BYTES) await flush(false);
        files.push(file);
        bytes += entryBytes;
        if (files.length >= MAX_INDEX_BATCH) await flush(false);
      }
      if (files.length > 0 || first || skipped) await flush(true);
      await Promise.race([changed, session.ended]);
    }
  } catch (e) {
    if (!(e instanceof PeerUnreachableError)) throw e;
  }
}
