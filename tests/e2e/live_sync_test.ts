import assert from "node:assert/strict";
import { join } from "node:path";
import { startLivePair } from "../support/peer.ts";
import { waitConverged } from "../support/tree.ts";

/**
 * Every operation, made in `dir` of the peer at `here` (the other peer is `there`). Each
 * step is checked by comparing both whole trees once they converge.
 */
function operations(here: string, there: string, dir: string): [string, () => Promise<void>][] {
  const at = (path: string) => join(here, dir, path);
  return [
    ["create a file", () => Deno.writeTextFile(at("new.txt"), "made here\n")],
    ["modify it", () => Deno.writeTextFile(at("new.txt"), "changed here, longer than before\n")],
    ["create a directory with files", async () => {
      await Deno.mkdir(at("sub/deeper"), { recursive: true });
      for (let i = 0; i < 20; i++) await Deno.writeTextFile(at(`sub/deeper/f${i}.txt`), `file ${i}\n`);
    }],
    ["rename a file", () => Deno.rename(at("new.txt"), at("renamed.txt"))],
    ["move a file into another directory", () => Deno.rename(at("renamed.txt"), at("sub/moved.txt"))],
    ["chmod a file", () => Deno.chmod(at("sub/moved.txt"), 0o600)],
    ["make a file executable", () => Deno.chmod(at("sub/deeper/f1.txt"), 0o755)],
    ["mtime-only change", () => {
      const when = new Date("2031-05-06T07:08:09.123Z");
      return Deno.utime(at("sub/deeper/f2.txt"), when, when);
    }],
    ["create an empty file and an empty directory", async () => {
      await Deno.writeFile(at("empty.bin"), new Uint8Array());
      await Deno.mkdir(at("empty-dir"));
    }],
    ["rename a directory tree", () => Deno.rename(at("sub"), at("renamed-sub"))],
    ["move a directory tree into another", () => Deno.rename(at("renamed-sub"), at("empty-dir/moved-sub"))],
    ["delete a file", () => Deno.remove(at("empty-dir/moved-sub/deeper/f3.txt"))],
    ["delete a directory tree", () => Deno.remove(at("empty-dir/moved-sub/deeper"), { recursive: true })],
    ["replace a file by a directory", async () => {
      await Deno.remove(at("empty.bin"));
      await Deno.mkdir(at("empty.bin"));
      await Deno.writeTextFile(at("empty.bin/inside.txt"), "inside\n");
    }],
    ["replace a directory by a file", async () => {
      await Deno.remove(at("empty.bin"), { recursive: true });
      await Deno.writeTextFile(at("empty.bin"), "a file again\n");
    }],
    ["replace a file by a symlink", async () => {
      await Deno.remove(at("empty.bin"));
      await Deno.symlink("empty-dir/moved-sub/moved.txt", at("empty.bin"));
    }],
    ["check the other side", async () => {
      const other = (path: string) => join(there, dir, path);
      assert.equal(
        await Deno.readTextFile(other("empty-dir/moved-sub/moved.txt")),
        "changed here, longer than before\n",
      );
      assert.equal((await Deno.stat(other("empty-dir/moved-sub/moved.txt"))).mode! & 0o777, 0o600);
      await assert.rejects(Deno.stat(other("empty-dir/moved-sub/deeper")), Deno.errors.NotFound);
      assert.equal(await Deno.readLink(other("empty.bin")), "empty-dir/moved-sub/moved.txt");
    }],
  ];
}

Deno.test("after joining, every kind of change on either side reaches the other as it happens", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-live-" });
  try {
    await using pair = await startLivePair(tmp, async (a) => {
      await Deno.mkdir(join(a, "from-a"));
      await Deno.mkdir(join(a, "from-b"));
    });
    const { a, b } = pair;
    await waitConverged(a, b, "initial sync");
    for (const [side, here, there] of [["on the sharer", a, b], ["on the joiner", b, a]] as const) {
      for (const [description, change] of operations(here, there, side === "on the sharer" ? "from-a" : "from-b")) {
        await t.step(`${description} ${side}`, async () => {
          await change();
          await waitConverged(a, b, `${description} ${side}`);
        });
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a burst of 5,000 file creations reaches the other side", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-burst-" });
  try {
    await using pair = await startLivePair(tmp);
    const { a, b } = pair;
    // All at once, many in directories made right before their files (inotify misses some of those).
    await Promise.all(Array.from({ length: 50 }, async (_, d) => {
      await Deno.mkdir(join(a, `burst-${d}`));
      for (let i = 0; i < 100; i++) await Deno.writeTextFile(join(a, `burst-${d}/f-${i}.txt`), `${d}/${i}\n`);
    }));
    await waitConverged(a, b, "burst of 5,000 files", 180_000);
    assert.equal([...Deno.readDirSync(join(b, "burst-49"))].length, 100);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the same files edited on both sides at once: both converge and every edit survives", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-live-conflict-" });
  try {
    const names = Array.from({ length: 10 }, (_, i) => `doc-${i}.txt`);
    await using pair = await startLivePair(tmp, async (a) => {
      for (const name of names) await Deno.writeTextFile(join(a, name), "original\n");
    });
    const { a, b } = pair;
    // Both writes land long before either side could hear of the other's (~50 ms).
    await Promise.all(names.flatMap((name) => [
      Deno.writeTextFile(join(a, name), `${name} from a\n`),
      Deno.writeTextFile(join(b, name), `${name} from b\n`),
    ]));
    await waitConverged(a, b, "concurrent edits");
    const contents = new Map<string, string>();
    for (const e of Deno.readDirSync(a)) contents.set(e.name, Deno.readTextFileSync(join(a, e.name)));
    for (const name of names) {
      const stem = name.replace(/\.txt$/, "");
      const copies = [...contents.keys()].filter((n) => n.startsWith(`${stem}.sync-conflict-`));
      assert.equal(copies.length, 1, `one conflict copy of ${name}: ${[...contents.keys()]}`);
      const kept = [contents.get(name), contents.get(copies[0])].sort();
      assert.deepEqual(kept, [`${name} from a\n`, `${name} from b\n`], `both edits of ${name} survive`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
