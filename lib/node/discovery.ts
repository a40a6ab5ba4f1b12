import { shortOfDisplayId } from "../model/mod.ts";
import { type Announcement, LanDiscovery } from "../net/mod.ts";
import type { Store } from "../store/mod.ts";
import type { DeviceEvent } from "./events.ts";
import type { Logger } from "./logger.ts";

/** What local discovery uses of its device. */
export interface DiscoveryContext {
  readonly store: Store;
  readonly logger: Logger;
  /** This device's ID (32 bytes). */
  readonly deviceId: Uint8Array;
  isConnected(peerId: string): boolean;
  listenAddresses(): string[];
  emit(event: DeviceEvent): void;
}

/** Where and how often to announce (the defaults: DISCOVERY_PORT, ANNOUNCE_INTERVAL_MS). */
export interface DiscoveryOptions {
  readonly port?: number;
  readonly intervalMs?: number;
}

/**
 * Starts local discovery for a device: it announces where it listens, and learns the current
 * address of the trusted devices that announce themselves while not connected (the dialer then
 * dials them there). Announcements of other devices are ignored: they are never a reason to
 * trust, nor to dial.
 *
 * @throws {Error} when the discovery port cannot be bound.
 */
export function startDiscovery(ctx: DiscoveryContext, options: DiscoveryOptions): Promise<LanDiscovery> {
  return LanDiscovery.start({
    ...options,
    deviceId: ctx.deviceId,
    listenAddresses: () => ctx.listenAddresses(),
    onWarning: (line) => ctx.logger.warn(line),
    onAnnouncement: (announcement) => learnAddress(ctx, announcement),
  });
}

async function learnAddress(ctx: DiscoveryContext, { deviceId, addresses }: Announcement): Promise<void> {
  const peer = await ctx.store.getPeer(deviceId);
  if (!peer?.trusted) {
    ctx.logger.debug(`ignored the announcement of ${deviceId}, a device this one does not trust`);
    return;
  }
  if (ctx.isConnected(deviceId) || addresses.includes(peer.address)) return;
  const address = addresses[0];
  await ctx.store.putPeer({ ...peer, address });
  ctx.logger.info(`${peer.name || deviceId} announced itself at ${address}`, { peer: shortOfDisplayId(deviceId) });
  ctx.emit({ type: "peer-address", peerId: deviceId, address });
}
