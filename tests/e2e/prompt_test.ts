import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSharer } from "../support/peer.ts";

const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));

/** Runs `fsync ARGS` on a pseudo-terminal (util-linux `script`) with `input` typed at it. */
async function onTerminal(args: string[], input: string): Promise<{ code: number; screen: string }> {
  const command = [Deno.execPath(), "run", "-A", "--quiet", CLI, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
  const child = new Deno.Command("script", {
    args: ["--quiet", "--return", "--command", command, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output().finally(() => clearTimeout(timer));
  await writer.close().catch(() => {/* script may have closed its input already */});
  return { code: out.code, screen: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}

Deno.test("on a terminal, join shows the offer and asks; yes syncs, no declines and writes nothing", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-prompt-" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    await Deno.writeTextFile(join(src, "hello.txt"), "hello\n");
    const { sharer, invite } = await startSharer(src, join(tmp, "home-a"), 0, ["--invite-uses", "2"]);
    await using _ = sharer;

    const declined = await onTerminal(
      ["--home", join(tmp, "home-b"), "join", invite, join(tmp, "no"), "--once"],
      "n\n",
    );
    assert.match(declined.screen, /offers folder "src": 1 files, 6 B/);
    assert.match(declined.screen, /Accept and sync it into .*no\? \[y\/N\]/);
    assert.match(declined.screen, /declined folder "src"/);
    assert.equal(declined.code, 2, declined.screen);
    await assert.rejects(Deno.stat(join(tmp, "no")), Deno.errors.NotFound);

    const accepted = await onTerminal(
      ["--home", join(tmp, "home-c"), "join", invite, join(tmp, "yes"), "--once"],
      "y\n",
    );
    assert.equal(accepted.code, 0, accepted.screen);
    assert.match(accepted.screen, /In sync:/);
    assert.equal(await Deno.readTextFile(join(tmp, "yes/hello.txt")), "hello\n");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
