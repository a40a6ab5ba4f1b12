import assert from "node:assert/strict";
import { formatHostPort, parseHostPort } from "./address.ts";
import { InvalidAddressError } from "./errors.ts";

Deno.test("parseHostPort() reads HOST:PORT forms", async (t) => {
  const cases = [
    { text: "127.0.0.1:50051", want: { host: "127.0.0.1", port: 50051 } },
    { text: "laptop.local:7", want: { host: "laptop.local", port: 7 } },
    { text: "[::1]:9", want: { host: "::1", port: 9 } },
    { text: "nas", want: { host: "nas", port: 50051 }, defaultPort: 50051 },
  ];
  for (const c of cases) {
    await t.step(c.text, () => {
      assert.deepEqual(parseHostPort(c.text, c.defaultPort), c.want);
      if (c.defaultPort === undefined) assert.equal(formatHostPort(c.want), c.text);
    });
  }
});

Deno.test("parseHostPort() refuses malformed addresses with the expected form", async (t) => {
  for (const text of ["", ":50051", "host:", "host:99999", "a:b:c", "host:port", "http://x:1", "two words:1"]) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(
        () => parseHostPort(text),
        (e) => e instanceof InvalidAddressError && e.hint!.includes("HOST:PORT"),
      );
    });
  }
  assert.throws(() => parseHostPort("nas"), InvalidAddressError, "a bare host needs a default port");
});
