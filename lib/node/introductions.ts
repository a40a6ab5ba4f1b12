import { shortOfDisplayId } from "../model/mod.ts";
import type { FolderState, IntroducedDevice } from "../net/mod.ts";
import { introductionsFor, introductionSteps, type KnownDevice } from "../plan/mod.ts";
import type { FolderRecord, PeerRecord, Store } from "../store/mod.ts";
import type { DeviceEvent } from "./events.ts";
import type { Logger } from "./logger.ts";
import type { Shares } from "./shares.ts";

/** What introductions use of their device. */
export interface IntroductionsContext {
  readonly store: Store;
  readonly shares: Shares;
  readonly logger: Logger;
  /** This device's ID (display form). */
  readonly selfId: string;
  emit(event: DeviceEvent): void;
}

/**
 * Introductions, as Syncthing's introducer makes them: for each folder, a device tells each
 * peer sharing it about the folder's other devices, and trusts the devices a peer names for a
 * folder it shares with that peer, for that folder only. A folder's `introduce: false` turns
 * both off there. What to do is decided by lib/plan's `introductionSteps`.
 */
export class Introductions {
  #ctx: IntroductionsContext;

  constructor(ctx: IntroductionsContext) {
    this.#ctx = ctx;
  }

  /** The devices `folder` is shared with, introduced to `receiverId`. */
  async for(folder: FolderRecord, receiverId: string): Promise<IntroducedDevice[]> {
    if (folder.introduce === false) return [];
    const sharedWith: KnownDevice[] = [];
    for (const deviceId of await this.#ctx.shares.of(folder.id)) {
      const peer = await this.#ctx.store.getPeer(deviceId);
      if (peer) sharedWith.push(peer);
    }
    return introductionsFor(receiverId, sharedWith, true);
  }

  /**
   * Carries out the introductions of `state` from the peer `introducer`: trusts new devices
   * with the folder, shares it with trusted devices that lack it, learns addresses. Returns
   * the devices the folder is now shared with that it was not before.
   */
  async accept(introducer: { deviceId: string; deviceName: string }, state: FolderState): Promise<string[]> {
    if (state.devices.length === 0) return [];
    const { store, shares, logger } = this.#ctx;
    const folder = await store.getFolder(state.folderId);
    if (!folder) return [];
    const known = new Map<string, PeerRecord>();
    const sharing = new Set<string>();
    for (const device of state.devices) {
      const peer = await store.getPeer(device.deviceId);
      if (peer) known.set(device.deviceId, peer);
      if (await shares.has(folder.id, device.deviceId)) sharing.add(device.deviceId);
    }
    const steps = introductionSteps({
      selfId: this.#ctx.selfId,
      introducerId: introducer.deviceId,
      sharedWithIntroducer: await shares.has(folder.id, introducer.deviceId),
      introduce: folder.introduce !== false,
      known: (id) => known.get(id),
      shares: (id) => sharing.has(id),
    }, state.devices);
    const added: string[] = [];
    for (const step of steps) {
      const before = known.get(step.deviceId);
      const address = "address" in step && step.address !== undefined ? step.address : before?.address ?? "";
      await store.putPeer({
        deviceId: step.deviceId,
        name: before?.name || ("name" in step ? step.name : ""),
        address,
        trusted: true,
        invitedTo: before?.invitedTo ?? [],
        lastSeenMs: before?.lastSeenMs,
        introducedBy: before ? before.introducedBy : introducer.deviceId,
      });
      const context = { folder: folder.label, peer: shortOfDisplayId(step.deviceId) };
      if (step.kind === "address") {
        this.#ctx.emit({ type: "peer-address", peerId: step.deviceId, address });
        continue;
      }
      await shares.add(folder.id, step.deviceId);
      added.push(step.deviceId);
      const name = before?.name || ("name" in step ? step.name : "") || step.deviceId;
      logger.info(`${introducer.deviceName} introduced ${name}${address ? ` at ${address}` : ""}`, context);
      this.#ctx.emit({
        type: "peer-introduced",
        peerId: step.deviceId,
        folderId: folder.id,
        introducerId: introducer.deviceId,
      });
    }
    return added;
  }
}
