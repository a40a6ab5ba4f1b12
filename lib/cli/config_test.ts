import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { join } from "node:path";
import { ExitCode, type FsyncError } from "../../mod.ts";
import { CONFIG_TEMPLATE, DEFAULT_CONFIG, parseConfig, readConfig } from "./config.ts";

Deno.test("the template's commented settings are the defaults, and valid", () => {
  // Folder settings are examples; listen's default (port 50051, or the next free one) is no single value.
  const uncommented = CONFIG_TEMPLATE.split("\n")
    .filter((l) =>
      /^# [a-z_]+ = /.test(l) &&
      !/^# (listen|peers|path|id|label|mode|share_with|introduce|big_delete_percent|big_delete_files) = /.test(l)
    )
    .map((l) => l.slice(2))
    .join("\n");
  const config = parseConfig(parse(uncommented), (m) => new Error(m));
  assert.deepEqual(config, DEFAULT_CONFIG);
});

const ID = "AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAA";
const OTHER_ID = "77777777777777777777777777777777777777777777777777Q"; // undashed, with a wrong last character
const read = (text: string) => parseConfig(parse(text), (m) => new Error(m));

Deno.test("parseConfig() reads folders and peers", () => {
  const config = read(
    `peers = ["10.0.0.2", "host:6000", "${ID.toLowerCase()}@[::1]:7000"]
[[folders]]
path = "/srv/a"
mode = "receive-only"
introduce = false
[[folders]]
path = "/srv/b/"
id = "docs-2024.v1"
label = "Documents"
big_delete_percent = 90
big_delete_files = 0
share_with = ["${ID}", "${ID.replaceAll("-", "")}"]
`,
  );
  assert.deepEqual(config.peers, [
    { address: { host: "10.0.0.2", port: 50051 } },
    { address: { host: "host", port: 6000 } },
    { address: { host: "::1", port: 7000 }, deviceId: ID },
  ]);
  assert.deepEqual(config.folders, [
    {
      path: "/srv/a",
      id: undefined,
      label: "a",
      mode: "receive-only",
      shareWith: [],
      introduce: false,
      bigDeletes: { percent: 50, files: 100 },
    },
    {
      path: "/srv/b",
      id: "docs-2024.v1",
      label: "Documents",
      mode: undefined,
      shareWith: [ID],
      introduce: undefined,
      bigDeletes: { percent: 90, files: 0 },
    },
  ]);
});

Deno.test("parseConfig() names what is wrong", () => {
  const cases: [string, RegExp][] = [
    [`colour = "blue"`, /^unknown setting "colour"$/],
    [`peers = ["nobody@host:1"]`, /^peers\[0\] must be a device ID/],
    [`peers = [7]`, /^peers\[0\] must be a "host:port" or "DEVICE-ID@host:port" string$/],
    [`[[folders]]\npath = "/a"\nshare = []`, /^folders\[0\]: unknown setting "share"$/],
    [`[[folders]]\nmode = "send-only"`, /^folders\[0\]\.path must be a folder path$/],
    [`[[folders]]\npath = "/a"\nid = "../x"`, /^folders\[0\]\.id must be 1 to 64 letters/],
    [`[[folders]]\npath = "/a"\nid = "${"x".repeat(65)}"`, /^folders\[0\]\.id must be/],
    [`[[folders]]\npath = "/a"\nlabel = ""`, /^folders\[0\]\.label must be a name/],
    [`[[folders]]\npath = "/a"\nmode = "mirror"`, /^folders\[0\]\.mode must be one of/],
    [`[[folders]]\npath = "/a"\nshare_with = "${ID}"`, /^folders\[0\]\.share_with must be a list/],
    [`[[folders]]\npath = "/a"\nintroduce = "no"`, /^folders\[0\]\.introduce must be true or false/],
    [`discovery = "off"`, /^discovery must be true or false/],
    [`[[folders]]\npath = "/a"\nshare_with = ["${OTHER_ID}"]`, /^folders\[0\]\.share_with\[0\] must be a device ID/],
    [
      `[[folders]]\npath = "/a"\nbig_delete_percent = 101`,
      /^folders\[0\]\.big_delete_percent must be a whole number from 0 to 100$/,
    ],
    [`[[folders]]\npath = "/a"\nbig_delete_files = -1`, /^folders\[0\]\.big_delete_files must be a whole number/],
    [`[[folders]]\npath = "/a"\n[[folders]]\npath = "/a/"`, /^two \[\[folders\]\] have the path \/a$/],
    [`[[folders]]\npath = "/a"\nid = "x"\n[[folders]]\npath = "/b"\nid = "x"`, /^two \[\[folders\]\] have the id "x"$/],
  ];
  for (const [text, message] of cases) assert.throws(() => read(text), { message }, text);
});

Deno.test("readConfig() says where a file stops being TOML: line and column", async () => {
  const home = await Deno.makeTempDir({ prefix: "fsync-config-" });
  try {
    await Deno.writeTextFile(join(home, "config.toml"), 'listen = "0.0.0.0:50051"\nlog_level = \n');
    await assert.rejects(
      readConfig(home),
      (e: Error) => {
        assert.match(e.message, /^config .*config\.toml: line 2, column \d+: invalid value$/);
        assert.equal((e as FsyncError).exitCode, ExitCode.config);
        return true;
      },
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
