import assert from "node:assert/strict";
import { join } from "node:path";
import { FsyncProcess, startSharer } from "../support/peer.ts";

Deno.test("a home gets its device identity on first start and keeps it; the key is private", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-id-" });
  try {
    const home = join(tmp, "home");
    const first = await FsyncProcess.run(["--home", home, "id"]);
    const second = await FsyncProcess.run(["--home", home, "id"]);
    const other = await FsyncProcess.run(["--home", join(tmp, "other"), "id"]);
    for (const r of [first, second, other]) assert.equal(r.code, 0, r.stderr);
    assert.match(first.stdout.trim(), /^([A-Z2-7]{7}-){7}[A-Z2-7]{3}$/);
    assert.equal(second.stdout, first.stdout, "the same home keeps its device ID");
    assert.notEqual(other.stdout, first.stdout, "another home is another device");
    assert.equal((await Deno.stat(join(home, "key.pem"))).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("fsync id answers while fsync runs on the home (the approval flow needs it), with the ID the running fsync shows", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-id-running-" });
  try {
    const dir = join(tmp, "a");
    await Deno.mkdir(dir);
    const { sharer } = await startSharer(dir, join(tmp, "home"));
    await using _ = sharer;
    const shown = sharer.stdout.match(/This device: (\S+)/)?.[1];
    const r = await FsyncProcess.run(["--home", join(tmp, "home"), "id"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), shown);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
