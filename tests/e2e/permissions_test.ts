import assert from "node:assert/strict";
import { join } from "node:path";
import { type LivePair, startLivePair } from "../support/peer.ts";

/** Permission bits including the special ones (setuid 0o4000, setgid 0o2000, sticky 0o1000). */
async function modeOf(path: string): Promise<number> {
  return ((await Deno.lstat(path)).mode ?? 0) & 0o7777;
}

/** Waits until `path` exists with permission bits `mode` (special bits included), or fails with the pair's logs. */
async function waitMode(pair: LivePair, path: string, mode: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | string = "absent";
  while (Date.now() < deadline) {
    try {
      last = await modeOf(path);
      if (last === mode) return;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const got = typeof last === "number" ? last.toString(8) : last;
  throw new Error(`${path}: mode ${got}, expected ${mode.toString(8)}\n${pair.sharer.log()}\n${pair.joiner.log()}`);
}

/** Makes a setuid executable and a setgid directory holding a file under `dir`, named with `tag`. */
async function makeSpecial(dir: string, tag: string): Promise<void> {
  await Deno.writeTextFile(join(dir, `tool-${tag}`), "#!/bin/sh\necho hi\n");
  await Deno.chmod(join(dir, `tool-${tag}`), 0o4755);
  await Deno.mkdir(join(dir, `group-${tag}`));
  await Deno.writeTextFile(join(dir, `group-${tag}/inside.txt`), "inside\n");
  await Deno.chmod(join(dir, `group-${tag}`), 0o2775);
}

Deno.test("setuid files and setgid directories arrive without their special bits, both ways", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-special-bits-" });
  try {
    await using pair = await startLivePair(tmp, (a) => makeSpecial(a, "a"));
    const { a, b } = pair;
    // Sharer to joiner, in the first sync.
    await waitMode(pair, join(b, "group-a/inside.txt"), 0o644);
    assert.equal(await modeOf(join(b, "tool-a")), 0o755);
    assert.equal(await modeOf(join(b, "group-a")), 0o775);
    assert.equal(await modeOf(join(a, "tool-a")), 0o4755, "the sharer's own bits are left alone");
    // Joiner to sharer, live.
    await makeSpecial(b, "b");
    await waitMode(pair, join(a, "group-b/inside.txt"), 0o644);
    await waitMode(pair, join(a, "tool-b"), 0o755);
    assert.equal(await modeOf(join(a, "group-b")), 0o775);
    // A mode change of a setuid file: its 0o777 bits travel, the setuid bit does not.
    await Deno.chmod(join(a, "tool-a"), 0o4750);
    await waitMode(pair, join(b, "tool-a"), 0o750);
    // Adding setuid alone is no change: nothing is sent (b's file stays 0o750 while a marker arrives).
    await Deno.chmod(join(b, "tool-b"), 0o4755);
    await Deno.writeTextFile(join(b, "marker.txt"), "m");
    await waitMode(pair, join(a, "marker.txt"), 0o644);
    assert.equal(await modeOf(join(a, "tool-b")), 0o755);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a peer's changes to a file hard-linked outside the folder never reach the outside file", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-hard-link-" });
  try {
    await using pair = await startLivePair(tmp);
    const { a, b } = pair;
    const outside = join(tmp, "outside-secret.txt");
    await Deno.writeTextFile(outside, "secret\n");
    await Deno.chmod(outside, 0o600);
    const old = new Date("2020-01-02T03:04:05.678Z");
    await Deno.utime(outside, old, old);
    await Deno.link(outside, join(b, "linked.txt"));
    await waitMode(pair, join(a, "linked.txt"), 0o600);
    const unchanged = async (what: string) => {
      const st = await Deno.stat(outside);
      assert.equal((st.mode ?? 0) & 0o7777, 0o600, `${what}: the outside file keeps its mode`);
      assert.equal(st.mtime?.getTime(), old.getTime(), `${what}: and its mtime`);
      assert.equal(await Deno.readTextFile(outside), "secret\n", `${what}: and its content`);
    };

    // Metadata only: a chmod in place on b would reach the outside file.
    await Deno.chmod(join(a, "linked.txt"), 0o4777);
    await waitMode(pair, join(b, "linked.txt"), 0o777);
    await unchanged("after a peer's chmod");
    const later = new Date("2031-05-06T07:08:09.123Z");
    await Deno.utime(join(a, "linked.txt"), later, later);
    const deadline = Date.now() + 30_000;
    while ((await Deno.stat(join(b, "linked.txt"))).mtime?.getTime() !== later.getTime()) {
      if (Date.now() > deadline) throw new Error(`b/linked.txt did not take a's mtime\n${pair.joiner.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await unchanged("after a peer's mtime change");
    // New content.
    await Deno.writeTextFile(join(a, "linked.txt"), "replaced by the peer\n");
    const until = Date.now() + 30_000;
    while (await Deno.readTextFile(join(b, "linked.txt")) !== "replaced by the peer\n") {
      if (Date.now() > until) throw new Error(`b/linked.txt did not take a's content\n${pair.joiner.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await unchanged("after a peer's edit");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
