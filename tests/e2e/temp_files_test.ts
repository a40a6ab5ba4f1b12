import { join } from "node:path";
import { FaultProxy } from "../support/fault_proxy.ts";
import { FsyncProcess, startLivePair, startSharer } from "../support/peer.ts";
import { randomData, waitConverged, waitNoTempFiles } from "../support/tree.ts";

const MiB = 1 << 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("200 atomic saves (write a .tmp, fsync, rename over the file, 0-50 ms apart) leave no temporary file on either side once in sync", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-temp-saves-" });
  try {
    await using pair = await startLivePair(tmp, (a) => Deno.writeTextFile(join(a, "doc.txt"), "first\n"));
    for (let i = 0; i < 200; i++) {
      const draft = join(pair.a, "doc.txt.tmp");
      using file = await Deno.open(draft, { write: true, create: true, truncate: true });
      await file.write(new TextEncoder().encode(`save ${i}\n`.repeat(1 + (i % 50))));
      await file.sync();
      await Deno.rename(draft, join(pair.a, "doc.txt"));
      await sleep(Math.floor(Math.random() * 50));
    }
    await waitConverged(pair.a, pair.b, "after the saves", 60_000);
    await waitNoTempFiles(pair.b, "the joiner");
    await waitNoTempFiles(pair.a, "the sharer");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a 32 MiB file rewritten 8 times during a slowed initial sync leaves no temporary file once in sync", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-temp-rewrites-" });
  try {
    const a = join(tmp, "a");
    const b = join(tmp, "b");
    await Deno.mkdir(a);
    await Deno.writeFile(join(a, "big.bin"), randomData(32 * MiB));
    const { sharer, port, invite } = await startSharer(a, join(tmp, "home-a"));
    await using _sharer = sharer;
    await using proxy = await FaultProxy.start(port);
    proxy.set({ kind: "slow", bytesPerSecond: 2 * MiB });
    const viaProxy = invite.replace(`:${port}/`, `:${proxy.port}/`);
    await using joiner = FsyncProcess.start(["--home", join(tmp, "home-b"), "join", viaProxy, b, "--yes"]);
    await joiner.waitFor(/Joining/);
    for (let i = 0; i < 8; i++) {
      await sleep(1_000);
      // One MiB changes each time: the rest of the new version is in the abandoned temporary file.
      const data = await Deno.readFile(join(a, "big.bin"));
      data.set(randomData(MiB), (i % 32) * MiB);
      await Deno.writeFile(join(a, "big.bin"), data);
    }
    proxy.set({ kind: "none" });
    await waitConverged(a, b, "after the rewrites", 90_000);
    await waitNoTempFiles(b, "the joiner");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
