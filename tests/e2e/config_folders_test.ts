import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, FsyncProcess } from "../support/peer.ts";
import { readIfExists } from "../support/tree.ts";

async function deviceId(home: string): Promise<string> {
  const r = await FsyncProcess.run(["--home", home, "id"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** One `[[folders]]` table. */
function folder(path: string, settings: Record<string, string | string[]>): string {
  const lines = Object.entries(settings).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  return `[[folders]]\npath = ${JSON.stringify(path)}\n${lines.join("\n")}\n`;
}

Deno.test("folders declared only in config.toml sync between the devices they are shared with", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-config-folders-" });
  const [a, photosA, b, photosB, homeA, homeB] = ["a", "photos-a", "b/docs", "b/photos", "home-a", "home-b"]
    .map((d) => join(tmp, d));
  try {
    await Deno.mkdir(a);
    await Deno.mkdir(photosA);
    await Deno.writeTextFile(join(a, "from-a.txt"), "a");
    await Deno.writeTextFile(join(photosA, "cat.jpg"), "meow");
    await Deno.writeTextFile(join(a, ".DS_Store"), "synced: both configs turn the default ignores off");
    const [idA, idB] = await Promise.all([deviceId(homeA), deviceId(homeB)]);
    const port = freePort();
    const configA = "ignore_defaults = false\n" +
      folder(a, { id: "docs", label: "Documents", share_with: [idB, idA] }) +
      folder(photosA, { id: "photos", share_with: [idB] });
    await Deno.writeTextFile(join(homeA, "config.toml"), configA);
    // B's folders do not exist yet: the first run creates them.
    await Deno.writeTextFile(
      join(homeB, "config.toml"),
      `ignore_defaults = false\npeers = ["${idA}@127.0.0.1:${port}"]\n` + folder(b, { id: "docs", share_with: [idA] }) +
        folder(photosB, { id: "photos", mode: "receive-only", share_with: [idA] }),
    );

    await t.step("sync --once on B creates its folders, is offered A's and accepts them, and converges", async () => {
      await using runA = FsyncProcess.start(["--home", homeA, "run", "--listen", `127.0.0.1:${port}`]);
      await runA.waitFor(/listening on/);
      const status = await FsyncProcess.run(["--home", homeA, "status"]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, new RegExp(`^  ${idB}  \\?  -  trusted  never seen$`, "m"), "trusted by the config");
      const first = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(first.code, 0, first.stderr + runA.log());
      assert.match(first.stderr, new RegExp(`added ${b} from config\\.toml \\(folder id docs\\)`));
      assert.equal(await readIfExists(join(b, "from-a.txt")), "a");
      assert.equal(await readIfExists(join(photosB, "cat.jpg")), "meow");
      assert.equal(await readIfExists(join(b, ".DS_Store")), "synced: both configs turn the default ignores off");

      await Deno.writeTextFile(join(b, "from-b.txt"), "b");
      await Deno.writeTextFile(join(photosB, "dog.jpg"), "woof: stays on B, whose photos are receive-only");
      const second = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(await readIfExists(join(a, "from-b.txt")), "b", "there when sync --once exits");
      assert.equal(await readIfExists(join(photosA, "dog.jpg")), undefined);
      await Deno.writeTextFile(join(a, "live.txt"), "live");
      const third = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(third.code, 0, third.stderr);
      assert.equal(await readIfExists(join(b, "live.txt")), "live");
      await runA.stop();
    });

    await t.step("a folder one side's config does not share is declined, saying how to accept it", async () => {
      const extraA = join(tmp, "extra-a");
      const extraB = join(tmp, "extra-b");
      await Deno.mkdir(extraA);
      await Deno.mkdir(extraB);
      await Deno.writeTextFile(
        join(homeA, "config.toml"),
        configA + folder(extraA, { id: "extra", share_with: [idB] }),
      );
      await Deno.writeTextFile(join(homeB, "config.toml"), folder(extraB, { id: "b-only", share_with: [idA] }), {
        append: true,
      });
      await using runA = FsyncProcess.start(["--home", homeA, "run", "--listen", `127.0.0.1:${port}`]);
      await runA.waitFor(/listening on/);
      const r = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(r.code, 69, r.stderr);
      assert.match(
        r.stderr,
        /^fsync: in sync with 1 peer\(s\), but could not sync with .*: it declined folder b-only \(not shared with this device in its config\.toml\)$/m,
      );
      assert.match(
        r.stderr,
        new RegExp(
          `offers the folder "extra-a", which config\\.toml does not share with it: declined \\(to accept it, ` +
            `add \\[\\[folders\\]\\] with id = "extra", a path and share_with = \\["${idA}"\\]\\)`,
        ),
      );
      await runA.waitFor(/offers the folder "extra-b", which config\.toml does not share with it: declined/);
      await runA.stop();
    });

    await t.step("an entry that contradicts the home is a configuration error (78)", async () => {
      await Deno.writeTextFile(join(homeB, "config.toml"), folder(join(tmp, "moved"), { id: "docs" }));
      const moved = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(moved.code, 78, moved.stderr);
      assert.match(
        moved.stderr,
        new RegExp(`^fsync: config\\.toml: folder "docs" is synced at ${b} in this home, not `, "m"),
      );
      await Deno.writeTextFile(join(homeB, "config.toml"), folder(b, { id: "other" }));
      const renamed = await FsyncProcess.run(["--home", homeB, "sync", "--once"]);
      assert.equal(renamed.code, 78, renamed.stderr);
      assert.match(
        renamed.stderr,
        new RegExp(`^fsync: config\\.toml: ${b} is synced as folder "docs" in this home`, "m"),
      );
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
