import assert from "node:assert/strict";
import { decisionViolation, importViolation, packageViolation } from "./layers.ts";

/** One step a case: `importViolation` finds a violation in `from` importing `to` exactly when `bad`. */
async function stepCases(
  t: Deno.TestContext,
  cases: readonly { description: string; from: string; to: string; bad: boolean }[],
): Promise<void> {
  for (const c of cases) {
    await t.step(
      c.description,
      () => assert.equal(importViolation(c.from, c.to, { root: "/p/" }) !== undefined, c.bad),
    );
  }
}

Deno.test("importViolation() enforces the layer rules of STYLE.md", async (t) => {
  const cases = [
    {
      description: "node may import any layer's mod.ts",
      from: "/p/lib/node/device.ts",
      to: "/p/lib/store/mod.ts",
      bad: false,
    },
    { description: "cli may import the root mod.ts", from: "/p/lib/cli/join.ts", to: "/p/mod.ts", bad: false },
    { description: "cli may not reach into lib", from: "/p/lib/cli/join.ts", to: "/p/lib/node/mod.ts", bad: true },
    { description: "lib may not import cli", from: "/p/lib/node/device.ts", to: "/p/lib/cli/log.ts", bad: true },
    { description: "a leaf may import model", from: "/p/lib/scan/scanner.ts", to: "/p/lib/model/mod.ts", bad: false },
    { description: "a leaf may import fs", from: "/p/lib/transfer/puller.ts", to: "/p/lib/fs/mod.ts", bad: false },
    { description: "plan may not import fs", from: "/p/lib/plan/decide.ts", to: "/p/lib/fs/mod.ts", bad: true },
    { description: "fs imports only model", from: "/p/lib/fs/file_system.ts", to: "/p/lib/scan/mod.ts", bad: true },
    {
      description: "inside one folder anything goes",
      from: "/p/lib/net/convert.ts",
      to: "/p/lib/net/errors.ts",
      bad: false,
    },
    {
      description: "net may import generated code",
      from: "/p/lib/net/convert.ts",
      to: "/p/lib/gen/filesync_pb.ts",
      bad: false,
    },
    {
      description: "sideways: transfer → plan",
      from: "/p/lib/transfer/puller.ts",
      to: "/p/lib/plan/mod.ts",
      bad: true,
    },
    { description: "upward: store → node", from: "/p/lib/store/store.ts", to: "/p/lib/node/mod.ts", bad: true },
    {
      description: "upward: net → node (the session lives in net)",
      from: "/p/lib/net/session.ts",
      to: "/p/lib/node/mod.ts",
      bad: true,
    },
    { description: "sideways: net → transfer", from: "/p/lib/net/session.ts", to: "/p/lib/transfer/mod.ts", bad: true },
    {
      description: "decisions: transfer may not reach plan",
      from: "/p/lib/transfer/puller.ts",
      to: "/p/lib/plan/mod.ts",
      bad: true,
    },
    { description: "model imports nothing else", from: "/p/lib/model/paths.ts", to: "/p/lib/plan/mod.ts", bad: true },
    {
      description: "generated code outside net",
      from: "/p/lib/node/device.ts",
      to: "/p/lib/gen/filesync_pb.ts",
      bad: true,
    },
    { description: "reaching past mod.ts", from: "/p/lib/node/device.ts", to: "/p/lib/store/store.ts", bad: true },
    {
      description: "files outside lib are free",
      from: "/p/tests/e2e/x_test.ts",
      to: "/p/lib/store/store.ts",
      bad: false,
    },
  ];
  await stepCases(t, cases);
});

Deno.test("importViolation(): the CLI's first stage loads only what parsing and the home's folders need", async (t) => {
  const cases = [
    { description: "cli.ts may import lib/model", from: "/p/cli.ts", to: "/p/lib/model/mod.ts", bad: false },
    { description: "cli.ts may not import the root mod.ts", from: "/p/cli.ts", to: "/p/mod.ts", bad: true },
    {
      description: "a first-stage file may read the store",
      from: "/p/lib/cli/grants.ts",
      to: "/p/lib/store/mod.ts",
      bad: false,
    },
    {
      description: "a first-stage file may import another",
      from: "/p/lib/cli/program.ts",
      to: "/p/lib/cli/parsers.ts",
      bad: false,
    },
    {
      description: "a first-stage file may not import a command",
      from: "/p/lib/cli/program.ts",
      to: "/p/lib/cli/commands.ts",
      bad: true,
    },
    {
      description: "a first-stage file may not import the root mod.ts",
      from: "/p/lib/cli/config.ts",
      to: "/p/mod.ts",
      bad: true,
    },
    {
      description: "a first-stage file may not reach past lib/store's mod.ts",
      from: "/p/lib/cli/grants.ts",
      to: "/p/lib/store/store.ts",
      bad: true,
    },
    {
      description: "a first-stage file may not import lib/node",
      from: "/p/lib/cli/grants.ts",
      to: "/p/lib/node/mod.ts",
      bad: true,
    },
    {
      description: "a command (not first stage) still goes through the root mod.ts",
      from: "/p/lib/cli/commands.ts",
      to: "/p/lib/model/mod.ts",
      bad: true,
    },
  ];
  await stepCases(t, cases);
  await t.step("types follow the layer rule: a first-stage file may import a type from another lib/cli file", () => {
    assert.equal(
      importViolation("/p/lib/cli/program.ts", "/p/lib/cli/context.ts", { root: "/p/", typeOnly: true }),
      undefined,
    );
    assert.notEqual(importViolation("/p/lib/cli/program.ts", "/p/lib/cli/context.ts", { root: "/p/" }), undefined);
  });
});

Deno.test("decisionViolation(): only lib/plan orders versions", async (t) => {
  const cases = [
    { description: "plan may", file: "/p/lib/plan/decide.ts", name: "compareVersions", bad: false },
    { description: "model defines it", file: "/p/lib/model/version_vector.ts", name: "compareVersions", bad: false },
    { description: "node may not", file: "/p/lib/node/pull_pass.ts", name: "compareVersions", bad: true },
    { description: "transfer may not", file: "/p/lib/transfer/puller.ts", name: "compareVersions", bad: true },
    { description: "tests may", file: "/p/lib/node/device_test.ts", name: "compareVersions", bad: false },
    { description: "other names are free", file: "/p/lib/node/device.ts", name: "increment", bad: false },
  ];
  for (const c of cases) {
    await t.step(c.description, () => assert.equal(decisionViolation(c.file, c.name) !== undefined, c.bad));
  }
});

Deno.test("packageViolation(): the CLI's first stage loads only the parser, the configuration's reader and built-ins", () => {
  assert.equal(packageViolation("/p/lib/cli/program.ts", "commander", "/p/"), undefined);
  assert.equal(packageViolation("/p/lib/cli/config.ts", "smol-toml", "/p/"), undefined);
  assert.equal(packageViolation("/p/cli.ts", "node:path", "/p/"), undefined);
  assert.notEqual(packageViolation("/p/lib/cli/program.ts", "cli-progress", "/p/"), undefined);
  assert.notEqual(packageViolation("/p/cli.ts", "@grpc/grpc-js", "/p/"), undefined);
  assert.equal(packageViolation("/p/lib/cli/progress.ts", "cli-progress", "/p/"), undefined, "a command may");
  assert.equal(packageViolation("/p/lib/net/grpc_transport.ts", "@grpc/grpc-js", "/p/"), undefined);
});
