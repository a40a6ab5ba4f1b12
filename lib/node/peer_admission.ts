import { shortOfDisplayId, toHex } from "../model/mod.ts";
import { inviteProofMatches, newInviteKey } from "../net/mod.ts";
import type { PeerRecord, Store } from "../store/mod.ts";
import type { Logger } from "./logger.ts";

/** The Goodbye reason a device gives to a peer it does not trust. */
export const NOT_TRUSTED = "not trusted: this device has no valid invite from the peer and was not approved";

/** A device that connected without a valid invite and is not trusted yet. */
export interface UnknownDevice {
  readonly deviceId: string;
  readonly name: string;
  readonly address: string;
}

/** Decides whether an unknown device may connect (and from then on is trusted). */
export type DeviceApprover = (device: UnknownDevice) => Promise<boolean>;

/** A device that dialled in and proved its key, as its Hello and TLS channel tell. */
export interface Applicant extends UnknownDevice {
  /** Proof of an invite secret over the channel (empty: none). */
  readonly inviteProof: Uint8Array;
  readonly channelBinding: Uint8Array;
}

/**
 * Who may connect to this device, and with which folders: invites (made, used up, expired),
 * devices trusted by the configuration, an approver for unknown devices, and the folders
 * offered to new devices. Persists in the store's peers and invites.
 */
export class PeerAdmission {
  /** Folders offered to every device that connects and does not share them yet. */
  readonly offered: Set<string> = new Set();
  approver?: DeviceApprover;
  #store: Store;
  #logger: Logger;
  #nowMs: () => number;

  constructor(store: Store, logger: Logger, nowMs: () => number) {
    this.#store = store;
    this.#logger = logger;
    this.#nowMs = nowMs;
  }

  /**
   * Creates an invite to a folder: a secret that trusts the first `uses` devices that prove
   * it within `ttlMs`; expired invites are dropped. Returns the secret.
   */
  async createInvite(folderId: string, uses: number, ttlMs: number): Promise<Uint8Array> {
    const { secret, publicKey } = newInviteKey();
    const now = this.#nowMs();
    for (const old of await this.#store.listInvites()) {
      if (old.expiresAtMs <= now) await this.#store.deleteInvite(old.id);
    }
    await this.#store.putInvite({ id: randomId(), folderId, publicKey, expiresAtMs: now + ttlMs, usesLeft: uses });
    return secret;
  }

  /**
   * Trusts a device with a folder, as a configuration's `share_with` does; a revoked device
   * stays revoked (false).
   */
  async trustWith(folderId: string, peerId: string): Promise<boolean> {
    const known = await this.#store.getPeer(peerId);
    if (known && !known.trusted) return false;
    if (!known?.invitedTo.includes(folderId)) {
      await this.#store.putPeer(
        known
          ? { ...known, invitedTo: [...known.invitedTo, folderId] }
          : { deviceId: peerId, name: "", address: "", trusted: true, invitedTo: [folderId] },
      );
    }
    this.offered.add(folderId);
    return true;
  }

  /**
   * Which folders a device that dialled in may be offered, or undefined when it may not
   * stay: those it was admitted to before, plus an invite's folder (using the invite), or,
   * when approved, the folders offered now.
   */
  async admit(applicant: Applicant, known: PeerRecord | undefined): Promise<string[] | undefined> {
    const context = { peer: shortOfDisplayId(applicant.deviceId) };
    let granted = known?.trusted ? [...known.invitedTo] : undefined;
    if (applicant.inviteProof.length > 0) {
      const now = this.#nowMs();
      let matched = false;
      for (const invite of await this.#store.listInvites()) {
        if (invite.expiresAtMs <= now) continue;
        if (!inviteProofMatches(invite.publicKey, applicant.channelBinding, applicant.inviteProof)) continue;
        if (!(await this.#store.useInvite(invite))) continue;
        this.#logger.info(`${applicant.name} joined with an invite`, context);
        granted = [...(granted ?? []), invite.folderId];
        matched = true;
        break;
      }
      if (!matched && !granted) {
        this.#logger.warn(`${applicant.name} presented an invite that is wrong, used or expired`, context);
      }
    }
    const missing = [...this.offered].filter((f) => !granted?.includes(f));
    if (missing.length > 0 && this.approver) {
      const { deviceId, name, address } = applicant;
      if (await this.approver({ deviceId, name, address })) granted = [...(granted ?? []), ...missing];
    }
    return granted && [...new Set(granted)];
  }

  /**
   * Trusts a device whose offer this device accepted (a joiner's trust in the sharer it dialled):
   * it may connect here from now on, to share what is shared with it.
   */
  async trustOfferer(peer: { deviceId: string; deviceName: string }, dialledAt: string | undefined): Promise<void> {
    const known = await this.#store.getPeer(peer.deviceId);
    if (known?.trusted) return;
    await this.#store.putPeer({
      ...known,
      deviceId: peer.deviceId,
      name: peer.deviceName,
      address: dialledAt ?? known?.address ?? "",
      trusted: true,
      invitedTo: known?.invitedTo ?? [],
      lastSeenMs: this.#nowMs(),
    });
  }

  /** Whether the store says the device was revoked (by `fsync revoke`, maybe from another process). */
  async isRevoked(peerId: string): Promise<boolean> {
    return (await this.#store.getPeer(peerId))?.trusted === false;
  }
}

/** A fresh random ID (16 hex digits) for folders, indexes and invites. */
export function randomId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(8)));
}
