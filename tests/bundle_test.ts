import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

Deno.test("the bundled CLI runs from another folder with an empty DENO_DIR and syncs (deno task bundle-check)", async () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "bundle-check"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, log);
  assert.match(log, /bundle-check: ok/);
});
