import { decide } from "../plan/mod.ts";
import type { IgnoreRules } from "../scan/mod.ts";
import type { IndexPair } from "../store/mod.ts";

/** What pulling a peer's entries would change here: paths to write or delete, and bytes of files to fetch. */
export interface Needs {
  readonly files: number;
  readonly bytes: number;
}

/**
 * Counts what a pull over `pairs` would do, as the puller decides it: ignored paths and
 * entries that only need recording do not count.
 */
export async function countNeeds(
  pairs: AsyncIterable<IndexPair>,
  rules: IgnoreRules,
  shortId: string,
  peerWins: boolean,
): Promise<Needs> {
  let files = 0;
  let bytes = 0;
  for await (const { local, remote } of pairs) {
    if (!remote || rules.ignores(remote.path, (local ?? remote).type === "directory")) continue;
    const decision = decide(local, remote, shortId, peerWins);
    if (decision.action === "keep" || decision.action === "record") continue;
    files++;
    if (decision.action === "fetch") bytes += decision.file.size;
  }
  return { files, bytes };
}
