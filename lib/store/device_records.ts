import type { FolderRecord, InviteRecord, LastError, PeerRecord, PulledMark } from "./records.ts";

/**
 * The small records of a device in Deno KV: folders, peers, invites, shares, the last
 * problem, and how far clean pulls of each peer's index reached. The base of {@linkcode Store},
 * which adds the indexes.
 */
export class DeviceRecords {
  protected readonly kv: Deno.Kv;

  protected constructor(kv: Deno.Kv) {
    this.kv = kv;
  }

  /** Saves a folder record. */
  async putFolder(folder: FolderRecord): Promise<void> {
    await this.kv.set(["folder", folder.id], folder);
  }

  /** The folder with this ID, if known. */
  async getFolder(id: string): Promise<FolderRecord | undefined> {
    return (await this.kv.get<FolderRecord>(["folder", id])).value ?? undefined;
  }

  /** Every folder of this device. */
  async listFolders(): Promise<FolderRecord[]> {
    return await collect(this.kv.list<FolderRecord>({ prefix: ["folder"] }));
  }

  /** Saves a peer record. */
  async putPeer(peer: PeerRecord): Promise<void> {
    await this.kv.set(["peer", peer.deviceId], peer);
  }

  /** The peer with this device ID, if known. */
  async getPeer(deviceId: string): Promise<PeerRecord | undefined> {
    return (await this.kv.get<PeerRecord>(["peer", deviceId])).value ?? undefined;
  }

  /** Every peer this device knows. */
  async listPeers(): Promise<PeerRecord[]> {
    return await collect(this.kv.list<PeerRecord>({ prefix: ["peer"] }));
  }

  /** Distrusts a peer and stops sharing every folder with it; false when it is unknown. */
  async revokePeer(deviceId: string): Promise<boolean> {
    const peer = await this.getPeer(deviceId);
    if (!peer) return false;
    const op = this.kv.atomic().set(["peer", deviceId], { ...peer, trusted: false, invitedTo: [] });
    for (const folder of await this.listFolders()) op.delete(["share", folder.id, deviceId]);
    await op.commit();
    return true;
  }

  /** Records the last problem the device reported. */
  async putLastError(error: LastError): Promise<void> {
    await this.kv.set(["meta", "lastError"], error);
  }

  /** The last problem the device reported, if any. */
  async getLastError(): Promise<LastError | undefined> {
    return (await this.kv.get<LastError>(["meta", "lastError"])).value ?? undefined;
  }

  /** Saves an invite. */
  async putInvite(invite: InviteRecord): Promise<void> {
    await this.kv.set(["invite", invite.id], invite);
  }

  /** Every stored invite, expired or not. */
  async listInvites(): Promise<InviteRecord[]> {
    return await collect(this.kv.list<InviteRecord>({ prefix: ["invite"] }));
  }

  /**
   * Uses an invite once: decrements its uses (deleting it at zero) unless another use got
   * there first. Returns whether this use counted.
   */
  async useInvite(invite: InviteRecord): Promise<boolean> {
    const current = await this.kv.get<InviteRecord>(["invite", invite.id]);
    if (!current.value || current.value.usesLeft < 1) return false;
    const op = this.kv.atomic().check(current);
    if (current.value.usesLeft === 1) op.delete(["invite", invite.id]);
    else op.set(["invite", invite.id], { ...current.value, usesLeft: current.value.usesLeft - 1 });
    return (await op.commit()).ok;
  }

  /** Deletes an invite. */
  async deleteInvite(id: string): Promise<void> {
    await this.kv.delete(["invite", id]);
  }

  /** Records that `folderId` is shared with `deviceId`. */
  async addShare(folderId: string, deviceId: string): Promise<void> {
    await this.kv.set(["share", folderId, deviceId], true);
  }

  /** Device IDs the folder is shared with. */
  async sharesOf(folderId: string): Promise<string[]> {
    const out: string[] = [];
    for await (const e of this.kv.list({ prefix: ["share", folderId] })) out.push(e.key[2] as string);
    return out;
  }

  /** How far a clean pull of the peer's index of a folder reached, if one did since the last problem. */
  async getPulled(folderId: string, deviceId: string): Promise<PulledMark | undefined> {
    return (await this.kv.get<PulledMark>(["pulled", folderId, deviceId])).value ?? undefined;
  }

  /** Records a clean pull (`mark`), or forgets it (undefined) after a pull with problems. */
  async setPulled(folderId: string, deviceId: string, mark: PulledMark | undefined): Promise<void> {
    if (mark) await this.kv.set(["pulled", folderId, deviceId], mark);
    else await this.kv.delete(["pulled", folderId, deviceId]);
  }
}

async function collect<T>(iter: Deno.KvListIterator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of iter) out.push(e.value);
  return out;
}
