/**
 * Bytes on the wire of an initial sync: `fsync join --once` of a generated tree through a
 * proxy on 127.0.0.1 that counts what it forwards both ways (TLS records, the Session and the
 * data connection alike), against the bytes of the files.
 */
import { join } from "node:path";
import { FaultProxy } from "../../tests/support/fault_proxy.ts";
import { generateTree, type TreeSpec } from "../../tests/support/gen_tree.ts";
import { FsyncProcess, startSharer } from "../../tests/support/peer.ts";

/** The tree's file bytes, and the bytes the joiner sent and received for them. */
export interface InitialWireFigures {
  readonly fileBytes: number;
  readonly toSharer: number;
  readonly fromSharer: number;
}

/** Generates `spec`, shares it and joins it once through a counting proxy. */
export async function measureInitialWireBytes(spec: TreeSpec): Promise<InitialWireFigures> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-bench-wire-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const summary = await generateTree(src, spec);
    const { sharer, port, invite } = await startSharer(src, join(tmp, "home-a"));
    await using _ = sharer;
    await using proxy = await FaultProxy.start(port);
    const viaProxy = invite.replace(`:${port}/`, `:${proxy.port}/`);
    const joined = await FsyncProcess.run(
      ["--home", join(tmp, "home-b"), "join", viaProxy, join(tmp, "dst"), "--yes", "--once"],
      600_000,
    );
    if (joined.code !== 0) throw new Error(`join --once failed (${joined.code}): ${joined.stderr}`);
    const { toTarget, fromTarget } = proxy.forwarded;
    return { fileBytes: summary.bytes, toSharer: toTarget, fromSharer: fromTarget };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
