import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Introduction,
  type IntroductionContext,
  introductionsFor,
  type IntroductionStep,
  introductionSteps,
  type KnownDevice,
} from "./introductions.ts";

const SELF = "SELF";
const INTRODUCER = "INTRODUCER";

/** A context where this device knows `known` and shares the folder with `sharing` (and the introducer). */
function context(
  known: KnownDevice[],
  sharing: string[],
  over: Partial<IntroductionContext> = {},
): IntroductionContext {
  const byId = new Map(known.map((k) => [k.deviceId, k]));
  return {
    selfId: SELF,
    introducerId: INTRODUCER,
    sharedWithIntroducer: true,
    introduce: true,
    known: (id) => byId.get(id),
    shares: (id) => id === INTRODUCER || sharing.includes(id),
    ...over,
  };
}

const c: Introduction = { deviceId: "C", name: "desk", addresses: ["10.0.0.3:50051", "10.0.0.3:50052"] };
const cKnown: KnownDevice = { deviceId: "C", name: "desk", address: "", trusted: true };

Deno.test("introductionSteps() trusts for the folder, shares, learns addresses, and refuses what it must", async (t) => {
  const cases: {
    description: string;
    ctx: IntroductionContext;
    devices: Introduction[];
    want: IntroductionStep[];
  }[] = [
    {
      description: "an unknown device is trusted for the folder, at its first address",
      ctx: context([], []),
      devices: [c],
      want: [{ kind: "trust", deviceId: "C", name: "desk", address: "10.0.0.3:50051" }],
    },
    {
      description: "an unknown device without address is trusted all the same (it may dial in)",
      ctx: context([], []),
      devices: [{ ...c, addresses: [] }],
      want: [{ kind: "trust", deviceId: "C", name: "desk", address: "" }],
    },
    {
      description: "a trusted device without the folder gets it, and the address when none was known",
      ctx: context([cKnown], []),
      devices: [c],
      want: [{ kind: "share", deviceId: "C", address: "10.0.0.3:50051" }],
    },
    {
      description: "a trusted device without the folder keeps the address known here",
      ctx: context([{ ...cKnown, address: "192.168.1.3:50051" }], []),
      devices: [c],
      want: [{ kind: "share", deviceId: "C" }],
    },
    {
      description: "a device sharing the folder already, no address known: learn it",
      ctx: context([cKnown], ["C"]),
      devices: [c],
      want: [{ kind: "address", deviceId: "C", address: "10.0.0.3:50051" }],
    },
    {
      description: "a device sharing the folder already, address known: nothing",
      ctx: context([{ ...cKnown, address: "192.168.1.3:50051" }], ["C"]),
      devices: [c],
      want: [],
    },
    {
      description: "a revoked device stays revoked",
      ctx: context([{ ...cKnown, trusted: false }], []),
      devices: [c],
      want: [],
    },
    {
      description: "this device and the introducer are never steps",
      ctx: context([], []),
      devices: [{ ...c, deviceId: SELF }, { ...c, deviceId: INTRODUCER }],
      want: [],
    },
    {
      description: "a device named twice counts once",
      ctx: context([], []),
      devices: [c, { ...c, name: "other", addresses: [] }],
      want: [{ kind: "trust", deviceId: "C", name: "desk", address: "10.0.0.3:50051" }],
    },
    {
      description: "the folder is not shared with the introducer: nobody",
      ctx: context([], [], { sharedWithIntroducer: false }),
      devices: [c],
      want: [],
    },
    {
      description: "introductions off for the folder (--no-introduce): nobody",
      ctx: context([], [], { introduce: false }),
      devices: [c],
      want: [],
    },
  ];
  for (const k of cases) {
    await t.step(k.description, () => assert.deepEqual(introductionSteps(k.ctx, k.devices), k.want));
  }
});

Deno.test("introductionsFor() names every other trusted device of the folder, and nobody when off", () => {
  const shared: KnownDevice[] = [
    { deviceId: "B", name: "laptop", address: "", trusted: true },
    { deviceId: "C", name: "desk", address: "10.0.0.3:50051", trusted: true },
    { deviceId: "R", name: "old", address: "10.0.0.9:50051", trusted: false },
  ];
  assert.deepEqual(introductionsFor("B", shared, true), [
    { deviceId: "C", name: "desk", addresses: ["10.0.0.3:50051"] },
  ]);
  assert.deepEqual(introductionsFor("C", shared, true), [{ deviceId: "B", name: "laptop", addresses: [] }]);
  assert.deepEqual(introductionsFor("B", shared, false), []);
});

Deno.test("introductionSteps(): no step names a stranger to the list, a revoked device, itself or the introducer; applied, they leave nothing to do", () => {
  const ids: fc.Arbitrary<string> = fc.constantFrom(SELF, INTRODUCER, "C", "D", "E", "F");
  const address: fc.Arbitrary<string> = fc.constantFrom("", "10.0.0.1:1", "10.0.0.2:2");
  const arbitrary = fc.record({
    known: fc.uniqueArray(
      fc.record({ deviceId: ids, name: fc.constant("n"), address, trusted: fc.boolean() }),
      { selector: (k) => k.deviceId },
    ),
    sharing: fc.uniqueArray(ids),
    devices: fc.array(
      fc.record({ deviceId: ids, name: fc.constant("n"), addresses: fc.array(address.filter((a) => a !== "")) }),
    ),
    shared: fc.boolean(),
    introduce: fc.boolean(),
  });
  fc.assert(fc.property(arbitrary, ({ known, sharing, devices, shared, introduce }) => {
    const ctx = context(known, sharing, { sharedWithIntroducer: shared, introduce });
    const steps = introductionSteps(ctx, devices);
    const named = new Set(devices.map((d) => d.deviceId));
    for (const step of steps) {
      assert.ok(named.has(step.deviceId));
      assert.ok(step.deviceId !== SELF && step.deviceId !== INTRODUCER);
      assert.notEqual(ctx.known(step.deviceId)?.trusted, false);
    }
    if (!shared || !introduce) assert.deepEqual(steps, []);
    // Carry the steps out, as the device does, and ask again: nothing is left.
    const after = new Map<string, KnownDevice>(known.map((k) => [k.deviceId, k]));
    const nowSharing = [...sharing];
    for (const step of steps) {
      const before = after.get(step.deviceId);
      const learnt = "address" in step && step.address !== undefined ? step.address : before?.address ?? "";
      after.set(step.deviceId, { deviceId: step.deviceId, name: "n", address: learnt, trusted: true });
      nowSharing.push(step.deviceId);
    }
    const again = introductionSteps(
      context([...after.values()], nowSharing, { sharedWithIntroducer: shared, introduce }),
      devices,
    );
    assert.deepEqual(again, []);
  }));
});
