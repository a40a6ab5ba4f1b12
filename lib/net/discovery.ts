import dgram from "node:dgram";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnnouncementSchema } from "../gen/filesync_pb.ts";
import { formatDeviceId, HASH_BYTES } from "../model/mod.ts";
import { formatHostPort, parseHostPort } from "../model/mod.ts";
import { addresses } from "./convert.ts";

/** UDP port of announcements on the local network unless told otherwise. */
export const DISCOVERY_PORT = 21051;
/** How often a device announces itself (Syncthing's local discovery: 30 s too). */
export const ANNOUNCE_INTERVAL_MS = 30_000;
const MAGIC = new TextEncoder().encode("fsD1");
/** Larger packets are not announcements: dropped unread. */
const MAX_PACKET_BYTES = 1024;
/** Announcements handled per second at most; a flood beyond it is dropped. */
const MAX_HANDLED_PER_SECOND = 50;

/** What a device announced: who (unproven) and where it listens, as seen from here. */
export interface Announcement {
  /** Device ID in display form. */
  readonly deviceId: string;
  /** `host:port` each; unspecified hosts already replaced by the packet's source. */
  readonly addresses: readonly string[];
}

/** How a {@linkcode LanDiscovery} announces and listens. */
export interface LanDiscoveryOptions {
  /** This device's ID (32 bytes). */
  readonly deviceId: Uint8Array;
  /** Where it listens now (`host:port`); loopback addresses are never announced. */
  listenAddresses(): string[];
  /** Called for each valid announcement from another device, one at a time. */
  onAnnouncement(announcement: Announcement): Promise<void>;
  onWarning(line: string): void;
  /** UDP port (default DISCOVERY_PORT). */
  readonly port?: number;
  readonly intervalMs?: number;
}

/**
 * Local discovery: broadcasts this device's listen addresses to every IPv4 network it is on
 * (each interface's directed broadcast address) at start and every `intervalMs`, and hands
 * over the announcements of other devices. Several processes of one machine share the port.
 */
export class LanDiscovery {
  #socket: dgram.Socket;
  #options: LanDiscoveryOptions;
  #timer?: ReturnType<typeof setInterval>;
  #handling = Promise.resolve();
  #window = { startMs: 0, handled: 0 };
  #selfId: string;

  private constructor(socket: dgram.Socket, options: LanDiscoveryOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#selfId = formatDeviceId(options.deviceId);
    socket.on("message", (packet, from) => this.#receive(packet, from.address));
    socket.on("error", (e) => options.onWarning(`local discovery: ${e.message}`));
  }

  /**
   * Binds the discovery port (shared with other processes) and announces at once and then
   * every `intervalMs`.
   *
   * @throws {Error} when the port cannot be bound.
   */
  static async start(options: LanDiscoveryOptions): Promise<LanDiscovery> {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(options.port ?? DISCOVERY_PORT, "0.0.0.0", () => {
        socket.off("error", reject);
        resolve();
      });
    });
    socket.setBroadcast(true);
    const discovery = new LanDiscovery(socket, options);
    discovery.#timer = setInterval(() => discovery.announce(), options.intervalMs ?? ANNOUNCE_INTERVAL_MS);
    discovery.announce();
    return discovery;
  }

  /** Sends one announcement to every IPv4 network, unless this device listens on no reachable address. */
  announce(): void {
    const announced = this.#options.listenAddresses().filter((a) => !isLoopback(parseHostPort(a).host));
    if (announced.length === 0) return;
    const packet = encodeAnnouncement(this.#options.deviceId, announced);
    for (const target of broadcastAddresses(Deno.networkInterfaces())) {
      // A network without a route for broadcasts (ENETUNREACH) is no reason to stop the others.
      this.#socket.send(packet, this.#options.port ?? DISCOVERY_PORT, target, () => {});
    }
  }

  /** Stops announcing and listening. */
  close(): Promise<void> {
    clearInterval(this.#timer);
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #receive(packet: Uint8Array, from: string): void {
    const now = Date.now();
    if (now - this.#window.startMs >= 1000) this.#window = { startMs: now, handled: 0 };
    if (++this.#window.handled > MAX_HANDLED_PER_SECOND) return;
    const announcement = decodeAnnouncement(packet, from);
    if (!announcement || announcement.deviceId === this.#selfId) return;
    this.#handling = this.#handling
      .then(() => this.#options.onAnnouncement(announcement))
      .catch((e) => this.#options.onWarning(`local discovery: ${(e as Error).message}`));
  }
}

/** An announcement packet: the magic bytes, then the Announcement message. */
export function encodeAnnouncement(deviceId: Uint8Array, listenAddresses: readonly string[]): Uint8Array {
  const body = toBinary(AnnouncementSchema, create(AnnouncementSchema, { deviceId, addresses: [...listenAddresses] }));
  const packet = new Uint8Array(MAGIC.length + body.length);
  packet.set(MAGIC);
  packet.set(body, MAGIC.length);
  return packet;
}

/**
 * The announcement in a packet from the IPv4 address `from`, its unspecified hosts replaced by
 * `from`; undefined for anything else (wrong magic, malformed, too large, a bad ID or address).
 */
export function decodeAnnouncement(packet: Uint8Array, from: string): Announcement | undefined {
  if (packet.length > MAX_PACKET_BYTES || packet.length < MAGIC.length) return undefined;
  if (!MAGIC.every((b, i) => packet[i] === b)) return undefined;
  try {
    const message = fromBinary(AnnouncementSchema, packet.subarray(MAGIC.length));
    if (message.deviceId.length !== HASH_BYTES || message.addresses.length === 0) return undefined;
    const resolved = addresses(message.addresses, "announced address").map((text) => {
      const { host, port } = parseHostPort(text);
      return host === "0.0.0.0" || host === "::" ? formatHostPort({ host: from, port }) : text;
    });
    return { deviceId: formatDeviceId(message.deviceId), addresses: resolved };
  } catch {
    return undefined; // not protobuf, or an address that is not HOST:PORT: not an announcement
  }
}

/** The directed broadcast address of every IPv4 interface but loopback (from `Deno.networkInterfaces()`). */
export function broadcastAddresses(interfaces: readonly Deno.NetworkInterfaceInfo[]): string[] {
  const out = new Set<string>();
  for (const i of interfaces) {
    if (i.family !== "IPv4" || isLoopback(i.address)) continue;
    const address = i.address.split(".").map(Number);
    const mask = i.netmask.split(".").map(Number);
    out.add(address.map((b, k) => (b | (~mask[k] & 0xff)) & 0xff).join("."));
  }
  return [...out];
}

function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "::1" || host === "localhost";
}
