import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("lib/gen is exactly what `deno task proto` generates from proto/filesync.proto", async () => {
  const out = await Deno.makeTempDir({ prefix: "fsync-proto-" });
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "proto", "--output", out],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const committed = [...Deno.readDirSync(join(ROOT, "lib/gen"))].map((e) => e.name).sort();
    const fresh = [...Deno.readDirSync(join(out, "lib/gen"))].map((e) => e.name).sort();
    assert.deepEqual(fresh, committed);
    for (const name of fresh) {
      assert.equal(
        await Deno.readTextFile(join(out, "lib/gen", name)),
        await Deno.readTextFile(join(ROOT, "lib/gen", name)),
        `lib/gen/${name} differs from a fresh generation: run \`deno task proto\``,
      );
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("lib/scan/gear_wasm.ts is exactly what `deno task wasm` assembles from lib/scan/gear.wat", async () => {
  const { generate, TARGET } = await import("../scripts/gear_wasm.ts");
  assert.equal(await generate(), await Deno.readTextFile(TARGET), "gear_wasm.ts differs: run `deno task wasm`");
});
