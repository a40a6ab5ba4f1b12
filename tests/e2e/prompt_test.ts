import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../support/peer.ts";
import { onTerminal, spawnOnTerminal } from "../support/terminal.ts";

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
