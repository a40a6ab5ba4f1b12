import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));
const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

/**
 * How to run a command without the power to read a mode-000 directory: directly when not
 * root; as `nobody` through util-linux setpriv when root and `nobody` can read this checkout;
 * undefined when neither works (a clone under /root, say).
 */
function unprivilegedPrefix(): string[] | undefined {
  if (Deno.uid() !== 0) return [];
  try {
    const probe = new Deno.Command("setpriv", { args: [...NOBODY, "test", "-r", CLI], stderr: "null" }).outputSync();
    const deno = new Deno.Command("setpriv", { args: [...NOBODY, Deno.execPath(), "--version"], stdout: "null" })
      .outputSync();
    return probe.code === 0 && deno.code === 0 ? ["setpriv", ...NOBODY] : undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

const prefix = unprivilegedPrefix();

Deno.test({
  name: "share of an unreadable folder fails with a one-line error and exit code 74",
  ignore: prefix === undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-unreadable-" });
    try {
      await Deno.chmod(tmp, 0o777);
      const locked = join(tmp, "locked");
      await Deno.mkdir(locked);
      await Deno.writeTextFile(join(locked, "secret.txt"), "x");
      await Deno.chmod(locked, 0o000);
      await Deno.mkdir(join(tmp, "deno-dir"), { mode: 0o777 });
      await Deno.chmod(join(tmp, "deno-dir"), 0o777);
      const [cmd, ...pre] = [...prefix!, Deno.execPath()];
      const out = await new Deno.Command(cmd, {
        args: [
          ...pre,
          "run",
          "-A",
          "--quiet",
          CLI,
          "--home",
          join(tmp, "home"),
          "share",
          locked,
          "--listen",
          "127.0.0.1:0",
        ],
        env: { HOME: tmp, DENO_DIR: join(tmp, "deno-dir"), NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr).trim();
      assert.equal(out.code, 74, stderr);
      assert.equal(stderr.split("\n").length, 1, stderr);
      assert.match(stderr, /^fsync: cannot read folder .*locked: Permission denied/);
    } finally {
      await Deno.chmod(join(tmp, "locked"), 0o755).catch(() => {/* already gone */});
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
