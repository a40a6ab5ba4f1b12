import assert from "node:assert/strict";
import { join } from "node:path";
import { startLivePair } from "../support/peer.ts";
import { waitConverged } from "../support/tree.ts";
import { fillPseudoRandom } from "../../scripts/gen_tree.ts";

const MiB = 1 << 20;

/** The bytes the joiner says it received so far (from its latest "In sync" line). */
function received(stdout: string): number {
  const lines = [...stdout.matchAll(/In sync: .*?([\d.]+) (B|KiB|MiB|GiB) received/g)];
  const [, n, unit] = lines.at(-1)!;
  return Number(n) * { B: 1, KiB: 1024, MiB: MiB, GiB: 1024 * MiB }[unit as "B"];
}

Deno.test("renaming a directory, moving and copying files costs (almost) no transfer: local blocks are reused", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-reuse-" });
  try {
    await using pair = await startLivePair(tmp, async (a) => {
      await Deno.mkdir(join(a, "album"));
      for (let i = 0; i < 20; i++) {
        const data = new Uint8Array(256 * 1024);
        fillPseudoRandom(data, 100 + i);
        await Deno.writeFile(join(a, "album", `photo-${i}.jpg`), data);
      }
    });
    const { a, b, joiner } = pair;
    const initial = received(joiner.stdout);
    assert.ok(initial >= 4.9 * MiB, `the initial sync fetched the album (${initial} B)`);
    const steps: [string, () => Promise<void>][] = [
      ["rename the directory", () => Deno.rename(join(a, "album"), join(a, "holiday"))],
      ["move a file to the top", () => Deno.rename(join(a, "holiday/photo-3.jpg"), join(a, "cover.jpg"))],
      ["copy a file", () => Deno.copyFile(join(a, "holiday/photo-4.jpg"), join(a, "holiday/photo-4 copy.jpg"))],
    ];
    for (const [what, change] of steps) {
      await t.step(what, async () => {
        const before = joiner.stdout.length;
        await change();
        await waitConverged(a, b, what);
        await joiner.waitFor(new RegExp(`[\\s\\S]{${before}}[\\s\\S]*In sync:`));
      });
    }
    const extra = received(joiner.stdout) - initial;
    assert.ok(extra <= 0.1 * MiB, `moved and copied 5.25 MiB but received ${extra} more bytes`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
