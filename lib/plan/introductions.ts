/** A device one peer names to another for a folder they share (as the wire's IntroducedDevice). */
export interface Introduction {
  /** Device ID in display form. */
  readonly deviceId: string;
  readonly name: string;
  /** `host:port` each, best first. */
  readonly addresses: readonly string[];
}

/** What a device knows of another, as far as introductions are concerned. */
export interface KnownDevice {
  readonly deviceId: string;
  readonly name: string;
  /** Last address it was reached at or said it listens on ("" when none). */
  readonly address: string;
  /** False once revoked: never trusted again because of an introduction. */
  readonly trusted: boolean;
}

/** What to do about one introduced device. */
export type IntroductionStep =
  /** Unknown so far: trust it, for this folder only (share the folder with it). */
  | { readonly kind: "trust"; readonly deviceId: string; readonly name: string; readonly address: string }
  /** Trusted already, for other folders: share this one with it too. */
  | { readonly kind: "share"; readonly deviceId: string; readonly address?: string }
  /** Already shares the folder, and this device knew no address for it: learn one. */
  | { readonly kind: "address"; readonly deviceId: string; readonly address: string };

/** The folder, the introducer and what this device knows, when introductions for it arrive. */
export interface IntroductionContext {
  /** This device's ID. */
  readonly selfId: string;
  /** The peer that introduces. */
  readonly introducerId: string;
  /** This device shares the folder with the introducer (else it may introduce nobody for it). */
  readonly sharedWithIntroducer: boolean;
  /** The folder's introductions are on here (`--no-introduce` turns them off). */
  readonly introduce: boolean;
  /** What this device knows of a device, if anything. */
  known(deviceId: string): KnownDevice | undefined;
  /** Whether the folder is shared with the device already. */
  shares(deviceId: string): boolean;
}

/**
 * What to do with the devices a peer introduces for a folder: trust unknown devices for that
 * folder alone, share it with trusted devices that lack it, learn an address where none is
 * known. Nothing, when the folder is not shared with the introducer or introductions are off
 * for it; a revoked device, this device and the introducer itself are never steps.
 */
export function introductionSteps(ctx: IntroductionContext, devices: readonly Introduction[]): IntroductionStep[] {
  if (!ctx.sharedWithIntroducer || !ctx.introduce) return [];
  const steps: IntroductionStep[] = [];
  const seen = new Set<string>([ctx.selfId, ctx.introducerId]);
  for (const device of devices) {
    if (seen.has(device.deviceId)) continue;
    seen.add(device.deviceId);
    const known = ctx.known(device.deviceId);
    const address = device.addresses[0] ?? "";
    if (!known) {
      steps.push({ kind: "trust", deviceId: device.deviceId, name: device.name, address });
    } else if (!known.trusted) {
      continue;
    } else if (!ctx.shares(device.deviceId)) {
      steps.push(
        known.address === "" && address !== ""
          ? { kind: "share", deviceId: device.deviceId, address }
          : { kind: "share", deviceId: device.deviceId },
      );
    } else if (known.address === "" && address !== "") {
      steps.push({ kind: "address", deviceId: device.deviceId, address });
    }
  }
  return steps;
}

/**
 * Whom a device introduces to `receiverId` for a folder: every other trusted device the folder
 * is shared with, with the address it knows for it (none when introductions are off for it).
 */
export function introductionsFor(
  receiverId: string,
  sharedWith: readonly KnownDevice[],
  introduce: boolean,
): Introduction[] {
  if (!introduce) return [];
  return sharedWith
    .filter((d) => d.trusted && d.deviceId !== receiverId)
    .map((d) => ({ deviceId: d.deviceId, name: d.name, addresses: d.address === "" ? [] : [d.address] }));
}
