import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FsyncProcess, startSharer } from "../support/peer.ts";

const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));

/** Starts `fsync ARGS` on a pseudo-terminal (util-linux `script`); what is written to its stdin is typed at it. */
function spawnOnTerminal(args: string[]): Deno.ChildProcess {
  const command = [Deno.execPath(), "run", "-A", "--quiet", CLI, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
  return new Deno.Command("script", {
    args: ["--quiet", "--return", "--command", command, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** Runs `fsync ARGS` on a pseudo-terminal with `input` typed at it, to the end. */
async function onTerminal(args: string[], input: string): Promise<{ code: number; screen: string }> {
  const child = spawnOnTerminal(args);
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

Deno.test("on a terminal, share asks before letting a device without an invite join", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-approve-" });
  const src = join(tmp, "src");
  await Deno.mkdir(src);
  await Deno.writeTextFile(join(src, "hello.txt"), "hello\n");
  const terminal = spawnOnTerminal(["--home", join(tmp, "home-a"), "share", src, "--listen", "127.0.0.1:0"]);
  const keys = terminal.stdin.getWriter();
  let screen = "";
  const reading = (async () => {
    for await (const text of terminal.stdout.pipeThrough(new TextDecoderStream())) screen += text;
  })();
  const waitScreen = async (pattern: RegExp) => {
    const deadline = Date.now() + 30_000;
    while (!pattern.test(screen)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${screen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return screen.match(pattern)!;
  };
  try {
    const port = (await waitScreen(/listening on 127\.0\.0\.1:(\d+)/))[1];
    const joining = FsyncProcess.run(
      ["--home", join(tmp, "home-b"), "join", `127.0.0.1:${port}`, join(tmp, "dst"), "--yes", "--once"],
    );
    await waitScreen(/\([A-Z0-9-]+\) at 127\.0\.0\.1:\d+ has no invite\. Let it join "src"\? \[y\/N\]/);
    await keys.write(new TextEncoder().encode("y\n"));
    const joined = await joining;
    assert.equal(joined.code, 0, joined.stderr + screen);
    assert.equal(await Deno.readTextFile(join(tmp, "dst/hello.txt")), "hello\n");
  } finally {
    await keys.write(new TextEncoder().encode("\x03")).catch(() => {}); // Ctrl-C on the terminal stops share
    const timer = setTimeout(() => terminal.kill("SIGKILL"), 15_000);
    await terminal.status.finally(() => clearTimeout(timer));
    await keys.close().catch(() => {});
    await reading;
    await terminal.stderr.cancel();
    await Deno.remove(tmp, { recursive: true });
  }
});
