import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { readIfExists, waitContent } from "../support/tree.ts";

/** Starts a sharer of `tmp/a` and a joiner into `tmp/b`, each with its own extra arguments, and waits for the join. */
async function startPair(tmp: string, sharerArgs: string[], joinerArgs: string[]) {
  const [a, b] = [join(tmp, "a"), join(tmp, "b")];
  await Deno.mkdir(a);
  await Deno.writeTextFile(join(a, "shared.txt"), "v1");
  const { sharer, invite } = await startSharer(a, join(tmp, "home-a"), 0, sharerArgs);
  const joiner = FsyncProcess.start(["--home", join(tmp, "home-b"), "join", invite, b, "--yes", ...joinerArgs]);
  await joiner.waitFor(/In sync:/);
  return { a, b, sharer, joiner };
}

Deno.test("a send-only folder sends its changes and applies none of its peers'", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-send-only-" });
  try {
    const { a, b, sharer, joiner } = await startPair(tmp, ["--mode", "send-only"], []);
    await using _s = sharer;
    await using _j = joiner;
    assert.equal(await readIfExists(join(b, "shared.txt")), "v1");
    await Deno.writeTextFile(join(a, "from-a.txt"), "from a");
    await waitContent(join(b, "from-a.txt"), "from a");
    await Deno.writeTextFile(join(b, "from-b.txt"), "from b");
    await Deno.writeTextFile(join(b, "shared.txt"), "edited on b");
    await Deno.remove(join(b, "from-a.txt"));
    // A marker proves the sharer kept working meanwhile: its own later change still reaches b.
    await new Promise((r) => setTimeout(r, 1500));
    await Deno.writeTextFile(join(a, "marker.txt"), "m");
    await waitContent(join(b, "marker.txt"), "m");
    assert.equal(await readIfExists(join(a, "from-b.txt")), undefined, "b's new file is not applied on a");
    assert.equal(await readIfExists(join(a, "shared.txt")), "v1", "b's edit is not applied on a");
    assert.equal(await readIfExists(join(a, "from-a.txt")), "from a", "b's delete is not applied on a");
    assert.equal(await readIfExists(join(b, "shared.txt")), "edited on b", "b keeps its own edit");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a receive-only folder applies its peers' changes and sends none of its own; a peer's edit wins, ours kept as a copy", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-receive-only-" });
  try {
    const { a, b, sharer, joiner } = await startPair(tmp, [], ["--mode", "receive-only"]);
    await using _s = sharer;
    await using _j = joiner;
    assert.match(joiner.stdout, /Joining "a" into .* \(receive-only\)/);
    await Deno.writeTextFile(join(b, "local-only.txt"), "stays on b");
    await Deno.writeTextFile(join(b, "shared.txt"), "edited on b");
    // Later than any edit a makes: last-writer-wins alone would keep b's version.
    const future = new Date(Date.now() + 3600_000);
    await Deno.utime(join(b, "shared.txt"), future, future);
    await new Promise((r) => setTimeout(r, 1500));
    await Deno.writeTextFile(join(a, "from-a.txt"), "from a");
    await waitContent(join(b, "from-a.txt"), "from a");
    assert.equal(await readIfExists(join(a, "local-only.txt")), undefined, "b's new file is not sent");
    assert.equal(await readIfExists(join(a, "shared.txt")), "v1", "b's edit is not sent");

    // The sharer edits the file b changed: its version wins on b, though b's edit is newer.
    await Deno.writeTextFile(join(a, "shared.txt"), "edited on a");
    await waitContent(join(b, "shared.txt"), "edited on a");
    const copies = [];
    for await (const e of Deno.readDir(b)) if (e.name.startsWith("shared.sync-conflict-")) copies.push(e.name);
    assert.equal(copies.length, 1, `one conflict copy on b: ${copies}`);
    assert.equal(await readIfExists(join(b, copies[0])), "edited on b", "b's bytes are kept");
    await new Promise((r) => setTimeout(r, 1000));
    for await (const e of Deno.readDir(a)) assert.ok(!e.name.includes("sync-conflict"), "the copy stays on b");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
