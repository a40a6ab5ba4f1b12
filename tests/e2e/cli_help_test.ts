import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess } from "../support/peer.ts";

const COMMANDS = [
  ["share"],
  ["join"],
  ["run"],
  ["sync"],
  ["service", "install"],
  ["why"],
  ["status"],
  ["conflicts"],
  ["peers"],
  ["revoke"],
  ["id"],
];

Deno.test("every command has --help with examples, and refuses unknown flags and bad values with exit code 2", async (t) => {
  const home = await Deno.makeTempDir({ prefix: "fsync-e2e-help-" });
  try {
    await t.step("--help", async () => {
      const main = await FsyncProcess.run(["--help"]);
      assert.equal(main.code, 0);
      for (const [command] of COMMANDS) assert.match(main.stdout, new RegExp(`^  ${command} `, "m"), command);
      assert.match(main.stdout, /Exit codes:/);
      assert.match(main.stdout, /flags override it\.\n\nExamples:/, "a blank line before the examples");
      for (const command of COMMANDS) {
        const r = await FsyncProcess.run([...command, "--help"]);
        assert.equal(r.code, 0, command.join(" "));
        assert.match(r.stdout, /\nExamples:\n {2}(sudo )?fsync /, `${command.join(" ")} --help shows examples`);
        assert.match(r.stdout, /Global Options:[^]*\n {2}--home <dir>/, `${command.join(" ")} --help shows --home`);
      }
    });
    const refuse = async (args: string[], message: RegExp) => {
      const r = await FsyncProcess.run(["--home", join(home, "h"), ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr.split("\n")[0], message, args.join(" "));
    };
    await t.step("unknown flags", async () => {
      for (const command of COMMANDS) await refuse([...command, "--bogus"], /^error: unknown option '--bogus'/);
      await refuse(["--bogus", "id"], /^error: unknown option '--bogus'/);
      await refuse(["frobnicate"], /^error: unknown command 'frobnicate'/);
    });
    await t.step("bad values", async () => {
      await refuse(["--log-level", "loud", "id"], /--log-level.*must be one of debug, info, warn, error/);
      await refuse(["sync", "--once", "--timeout", "0"], /--timeout.*whole number of seconds/);
      await refuse(["sync", "--once", "--timeout", "soon"], /--timeout.*whole number of seconds/);
      await refuse(["run", "--listen", "nope:-1"], /--listen.*invalid address/);
      await refuse(["share", "/tmp", "--rescan-interval", "-5"], /--rescan-interval.*whole number/);
      await refuse(["why"], /missing required argument 'path'/);
      await refuse(["--max-send-kbps", "-1", "id"], /--max-send-kbps.*whole number of KiB\/s \(0 or more\)/);
      await refuse(["--max-recv-kbps", "fast", "id"], /--max-recv-kbps.*whole number of KiB\/s/);
      await refuse(["share", "/tmp", "--mode", "both"], /--mode.*must be one of send-receive, send-only, receive-only/);
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
