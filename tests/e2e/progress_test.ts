import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { randomData } from "../support/tree.ts";
import { onTerminal } from "../support/terminal.ts";

const SIZE = 3 << 20;

/** A sharer of one 3 MiB file; the joins below are slowed to 512 KiB/s so progress has time to show. */
async function withSharer(fn: (tmp: string, invite: string, data: Uint8Array) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-progress-" });
  try {
    await Deno.mkdir(join(tmp, "a"));
    const data = randomData(SIZE);
    await Deno.writeFile(join(tmp, "a/big.bin"), data);
    const { sharer, invite } = await startSharer(join(tmp, "a"), join(tmp, "home-a"), 0, ["--invite-uses", "2"]);
    await using _ = sharer;
    await fn(tmp, invite, data);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** `join --once` into `tmp/dir` at 512 KiB/s, with a progress log line every second. */
function slowJoin(tmp: string, dir: string, invite: string): string[] {
  return [
    ...["--home", join(tmp, `home-${dir}`), "--max-recv-kbps", "512", "--progress-interval", "1"],
    ...["join", invite, join(tmp, dir), "--yes", "--once"],
  ];
}

Deno.test("progress: periodic log lines in a pipe, a live line on a terminal", async (t) => {
  await withSharer(async (tmp, invite, data) => {
    await t.step("in a pipe: a log line per interval, naming folder and peer, counting up", async () => {
      const r = await FsyncProcess.run(slowJoin(tmp, "b", invite));
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await Deno.readFile(join(tmp, "b/big.bin")), data);
      const lines = [
        ...r.stderr.matchAll(
          /info {2}\[a [A-Z2-7]{7}\] pulling: (\d+)\/1 files, ([\d.]+) (B|KiB|MiB)\/3\.0 MiB \(0 B reused\), [\d.]+ (B|KiB|MiB)\/s, (\d+ s|\?) left/g,
        ),
      ];
      assert.ok(lines.length >= 2, `progress lines:\n${r.stderr}`);
      const bytes = lines.map((m) => Number(m[2]) * { B: 1, KiB: 1024, MiB: 1 << 20 }[m[3] as "B"]);
      assert.deepEqual(bytes, [...bytes].sort((x, y) => x - y), "bytes done only grow");
      assert.ok(!r.stderr.includes("\x1b["), "no terminal control sequences in a pipe");
    });
    await t.step("on a terminal: a progress bar, no progress log lines", async () => {
      const { code, screen } = await onTerminal(slowJoin(tmp, "c", invite), "");
      assert.equal(code, 0, screen);
      assert.match(
        screen,
        /a ← [A-Z2-7]{7} \[[█░]{24}\] [01]\/1 files, [\d.]+ (B|KiB|MiB)\/3\.0 MiB \(0 B reused\), .* left/,
      );
      assert.doesNotMatch(screen, /pulling:/);
      assert.deepEqual(await Deno.readFile(join(tmp, "c/big.bin")), data);
    });
  });
});
