import assert from "node:assert/strict";
import { formatDeviceId } from "../model/mod.ts";
import {
  type Announcement,
  broadcastAddresses,
  decodeAnnouncement,
  encodeAnnouncement,
  LanDiscovery,
} from "./discovery.ts";

const ID = new Uint8Array(32).fill(7);

Deno.test("an announcement survives encoding; unspecified hosts become the sender's address", () => {
  const packet = encodeAnnouncement(ID, ["0.0.0.0:50051", "192.168.1.20:6000", "[::]:7"]);
  assert.deepEqual(decodeAnnouncement(packet, "10.0.0.9"), {
    deviceId: formatDeviceId(ID),
    addresses: ["10.0.0.9:50051", "192.168.1.20:6000", "10.0.0.9:7"],
  });
});

Deno.test("decodeAnnouncement() drops what is not a valid announcement", async (t) => {
  const good = encodeAnnouncement(ID, ["0.0.0.0:50051"]);
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["wrong magic", Uint8Array.from([...new TextEncoder().encode("fsD2"), ...good.subarray(4)])],
    ["not protobuf", Uint8Array.from([...good.subarray(0, 4), 0xff, 0xff, 0xff])],
    ["a short device id", encodeAnnouncement(new Uint8Array(31), ["0.0.0.0:50051"])],
    ["no address", encodeAnnouncement(ID, [])],
    ["an address without a port", encodeAnnouncement(ID, ["10.0.0.1"])],
    ["port 0", encodeAnnouncement(ID, ["10.0.0.1:0"])],
    ["over 1 KiB", encodeAnnouncement(ID, Array.from({ length: 16 }, (_, i) => `${"h".repeat(70)}${i}:1`))],
  ];
  for (const [what, packet] of cases) {
    await t.step(what, () => assert.equal(decodeAnnouncement(packet, "10.0.0.9"), undefined));
  }
});

Deno.test("broadcastAddresses(): each IPv4 network's directed broadcast, no loopback, no IPv6", () => {
  const nic = (address: string, netmask: string, family: "IPv4" | "IPv6" = "IPv4"): Deno.NetworkInterfaceInfo => ({
    family,
    name: "x",
    address,
    netmask,
    scopeid: null,
    cidr: "",
    mac: "",
  });
  assert.deepEqual(
    broadcastAddresses([
      nic("127.0.0.1", "255.0.0.0"),
      nic("192.168.1.20", "255.255.255.0"),
      nic("10.1.2.3", "255.255.0.0"),
      nic("10.77.0.1", "255.255.255.252"),
      nic("fd00::2", "ffff:ffff:ffff:ffff::", "IPv6"),
      nic("192.168.1.21", "255.255.255.0"),
    ]),
    ["192.168.1.255", "10.1.255.255", "10.77.0.3"],
  );
});

const lan = broadcastAddresses(Deno.networkInterfaces());

Deno.test({
  name:
    "two processes' worth of discovery on one port: each hears the other, not itself; loopback-only devices stay quiet",
  ignore: lan.length === 0,
  fn: async () => {
    const port = 30_000 + Math.floor(Math.random() * 20_000);
    const heard: Announcement[][] = [[], [], []];
    const start = (n: number, listenAddresses: string[]) =>
      LanDiscovery.start({
        deviceId: new Uint8Array(32).fill(n + 1),
        listenAddresses: () => listenAddresses,
        onAnnouncement: (a) => {
          heard[n].push(a);
          return Promise.resolve();
        },
        onWarning: (line) => {
          throw new Error(line);
        },
        port,
        intervalMs: 100,
      });
    const all = [
      await start(0, ["0.0.0.0:50051"]),
      await start(1, ["0.0.0.0:50052"]),
      await start(2, ["127.0.0.1:50053"]),
    ];
    try {
      const deadline = Date.now() + 5_000;
      while (heard[0].length === 0 || heard[1].length === 0 || heard[2].length < 2) {
        if (Date.now() > deadline) throw new Error(`heard: ${JSON.stringify(heard)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const ids = (n: number) => new Set(heard[n].map((a) => a.deviceId));
      const id = (n: number) => formatDeviceId(new Uint8Array(32).fill(n + 1));
      assert.deepEqual(ids(0), new Set([id(1)]), "the first hears the second, not itself nor the loopback one");
      assert.deepEqual(ids(2), new Set([id(0), id(1)]));
      assert.match(heard[0][0].addresses[0], /^\d+\.\d+\.\d+\.\d+:50052$/);
    } finally {
      await Promise.all(all.map((d) => d.close()));
    }
  },
});
