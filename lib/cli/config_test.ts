import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { CONFIG_TEMPLATE, DEFAULT_CONFIG, parseConfig } from "./config.ts";

Deno.test("the template's commented settings are the defaults, and valid", () => {
  const uncommented = CONFIG_TEMPLATE.split("\n")
    .filter((l) => /^# [a-z_]+ = /.test(l) && !/^# (peers|path|mode) = /.test(l))
    .map((l) => l.slice(2))
    .join("\n");
  const config = parseConfig(parse(uncommented), (m) => new Error(m));
  assert.deepEqual(config, DEFAULT_CONFIG);
});

Deno.test("parseConfig() reads folders and peers", () => {
  const config = parseConfig(
    parse(`peers = ["10.0.0.2", "host:6000"]\n[[folders]]\npath = "/srv/a"\nmode = "receive-only"\n`),
    (m) => new Error(m),
  );
  assert.deepEqual(config.peers, [{ host: "10.0.0.2", port: 50051 }, { host: "host", port: 6000 }]);
  assert.deepEqual(config.folders, [{ path: "/srv/a", mode: "receive-only" }]);
});
