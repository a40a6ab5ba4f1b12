import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess, startLivePair } from "../support/peer.ts";
import { exists } from "../support/tree.ts";
import { until } from "../support/wait.ts";

/** Waits until `check` holds (polling), or fails with `what`. */
const eventually = (what: string, check: () => Promise<boolean>) => until(check, what, 30_000);

Deno.test(".fsyncignore: ignored paths are neither sent nor deleted on peers, on either side", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-ignore-" });
  try {
    await using pair = await startLivePair(tmp, async (a) => {
      await Deno.writeTextFile(join(a, ".fsyncignore"), "# build output\n*.log\n!keep.log\nbuild/\n");
      await Deno.mkdir(join(a, "build"));
      await Deno.mkdir(join(a, "sub/deep"), { recursive: true });
      for (const f of ["a.txt", "x.log", "keep.log", "build/out.js", ".DS_Store", "sub/deep/y.log", "both.cfg"]) {
        await Deno.writeTextFile(join(a, f), `content of ${f}`);
      }
    });
    const { a, b } = pair;

    await t.step("the joiner gets what is not ignored, and nothing else", async () => {
      for (const f of ["a.txt", "keep.log", "both.cfg", "sub/deep"]) assert.ok(await exists(join(b, f)), f);
      for (const f of ["x.log", "build", ".DS_Store", "sub/deep/y.log", ".fsyncignore"]) {
        assert.ok(!(await exists(join(b, f))), `${f} must not be sent`);
      }
    });

    await t.step("the joiner's own patterns keep its files to itself", async () => {
      await Deno.writeTextFile(join(b, ".fsyncignore"), "private/\n*.cfg\n");
      await new Promise((r) => setTimeout(r, 300)); // the rules are read before the files appear
      await Deno.mkdir(join(b, "private"));
      await Deno.writeTextFile(join(b, "private/secret.txt"), "secret");
      await Deno.writeTextFile(join(b, "shared.txt"), "from b");
      await eventually("shared.txt reaches the sharer", () => exists(join(a, "shared.txt")));
      assert.ok(!(await exists(join(a, "private"))), "private/ stays on the joiner");
    });

    await t.step("a path ignored on one side is not deleted on the other, nor overwritten", async () => {
      // both.cfg was synced before the joiner ignored *.cfg.
      await Deno.remove(join(b, "both.cfg"));
      await Deno.writeTextFile(join(a, "a.txt"), "edited on a");
      await Deno.writeTextFile(join(a, "both.cfg"), "edited on a");
      await eventually(
        "the edit of a.txt reaches the joiner",
        async () => (await Deno.readTextFile(join(b, "a.txt"))) === "edited on a",
      );
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(!(await exists(join(b, "both.cfg"))), "the sharer's edit of an ignored path is not applied");
      assert.equal(await Deno.readTextFile(join(a, "both.cfg")), "edited on a", "the joiner's delete is not sent");
    });

    await t.step("un-ignoring a path syncs it", async () => {
      await Deno.writeTextFile(join(a, ".fsyncignore"), "*.log\n!keep.log\n");
      await eventually("build/out.js reaches the joiner", () => exists(join(b, "build/out.js")));
      assert.ok(!(await exists(join(b, "x.log"))));
    });

    await t.step("fsync why names the deciding pattern and line", async () => {
      const home = join(tmp, "home-a");
      const ask = async (path: string) => {
        const r = await FsyncProcess.run(["--home", home, "why", path]);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.trim();
      };
      assert.match(
        await ask(join(a, "sub/deep/y.log")),
        /^sub\/deep\/y\.log \(folder "a"\) is ignored by \.fsyncignore line 1: \*\.log$/,
      );
      assert.match(await ask(join(a, "keep.log")), /is not ignored: re-included by \.fsyncignore line 2: !keep\.log$/);
      assert.match(await ask(join(a, ".DS_Store")), /is ignored by the default pattern \.DS_Store/);
      assert.match(await ask(join(a, "a.txt")), /is not ignored: no pattern matches it/);
      assert.match(await ask(join(a, ".fsyncignore")), /is never synced/);
      const json = await FsyncProcess.run(["--home", join(tmp, "home-b"), "why", join(b, "private") + "/", "--json"]);
      assert.deepEqual(JSON.parse(json.stdout), {
        ignored: true,
        pattern: "private/",
        line: 1,
        folder: "a",
        path: "private",
        isDirectory: true,
        isIgnoreFile: false,
      });
      const outside = await FsyncProcess.run(["--home", home, "why", tmp]);
      assert.equal(outside.code, 2);
      assert.match(outside.stderr, /^fsync: .* is not inside a folder this device syncs/);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
