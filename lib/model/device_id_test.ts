import assert from "node:assert/strict";
import fc from "fast-check";
import { formatDeviceId, parseDeviceId, shortDeviceId } from "./device_id.ts";

Deno.test("device IDs round-trip through their display form", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (id) => {
      const text = formatDeviceId(id);
      assert.match(text, /^([A-Z2-7]{7}-){7}[A-Z2-7]{3}$/);
      assert.deepEqual(parseDeviceId(text), id);
      assert.deepEqual(parseDeviceId(text.toLowerCase().replaceAll("-", " ")), id);
      assert.equal(shortDeviceId(id), text.slice(0, 7));
    }),
    { numRuns: 300 },
  );
});

Deno.test("parseDeviceId() rejects what is not a device ID", () => {
  // "A".repeat(51) + "B" differs from the all-zero ID only in the padding bits: not canonical.
  for (const text of ["", "ABC", "1".repeat(52), "A".repeat(51), "A".repeat(53), "A".repeat(51) + "B"]) {
    assert.equal(parseDeviceId(text), undefined, text);
  }
});
