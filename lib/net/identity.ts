import { createHash, sign, verify, X509Certificate } from "node:crypto";
import { join } from "node:path";
import { ExitCode, formatDeviceId, FsyncError, shortDeviceId, toHex } from "../model/mod.ts";

/** A device's key pair, certificate and the ID derived from it. */
export interface DeviceIdentity {
  /** SHA-256 of the certificate (DER). */
  readonly deviceId: Uint8Array;
  /** The device ID for people (base32 groups). */
  readonly displayId: string;
  /** The short ID used in version vectors and conflict names. */
  readonly shortId: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const CERT_FILE = "cert.pem";
const KEY_FILE = "key.pem";

/**
 * Loads the device identity kept in `home`, creating an ECDSA P-256 key pair and a
 * self-signed certificate on first use (both files are readable by the owner only).
 *
 * @throws {FsyncError} (local IO) when the files cannot be read or written.
 */
export async function loadOrCreateIdentity(home: string, deviceName: string): Promise<DeviceIdentity> {
  const certPath = join(home, CERT_FILE);
  const keyPath = join(home, KEY_FILE);
  try {
    const [certPem, keyPem] = await Promise.all([Deno.readTextFile(certPath), Deno.readTextFile(keyPath)]);
    return identityOf(certPem, keyPem);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new FsyncError(`cannot read the device identity in ${home}: ${(e as Error).message}`, ExitCode.io, {
        cause: e,
      });
    }
  }
  const { certPem, keyPem } = await createCertificate(deviceName);
  try {
    await Deno.writeTextFile(keyPath, keyPem, { mode: 0o600, createNew: true });
    await Deno.writeTextFile(certPath, certPem, { mode: 0o600 });
  } catch (e) {
    throw new FsyncError(`cannot write the device identity to ${home}: ${(e as Error).message}`, ExitCode.io, {
      cause: e,
    });
  }
  return identityOf(certPem, keyPem);
}

/** The device ID of a certificate in PEM form. */
function deviceIdOfCertificate(certPem: string): Uint8Array {
  return deviceIdOf(new Uint8Array(new X509Certificate(certPem).raw));
}

/** The device ID of a certificate in DER form: its SHA-256. */
export function deviceIdOf(certificateDer: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(certificateDer).digest());
}

/** Which end of a connection a device is; proofs name it so one cannot be reflected back. */
export type ConnectionRole = "client" | "server";

function proofMessage(channelBinding: Uint8Array, role: ConnectionRole): Uint8Array {
  const label = new TextEncoder().encode(`fsync identity proof v1 ${role}\0`);
  const message = new Uint8Array(label.length + channelBinding.length);
  message.set(label);
  message.set(channelBinding, label.length);
  return message;
}

/**
 * Signs, with the device key, the binding of one TLS connection and this end's role: proof
 * that the device holding the certificate is at this end of this very connection (a relay
 * between two TLS connections sees two different bindings).
 */
export function proveIdentity(identity: DeviceIdentity, channelBinding: Uint8Array, role: ConnectionRole): Uint8Array {
  return new Uint8Array(sign("sha256", proofMessage(channelBinding, role), identity.keyPem));
}

/** True when `proof` was made by the key of `certificateDer` for this connection binding and role. */
export function verifyIdentityProof(
  certificateDer: Uint8Array,
  channelBinding: Uint8Array,
  role: ConnectionRole,
  proof: Uint8Array,
): boolean {
  try {
    const key = new X509Certificate(certificateDer).publicKey;
    return verify("sha256", proofMessage(channelBinding, role), key, proof);
  } catch {
    return false; // an unparsable certificate or signature proves nothing
  }
}

function identityOf(certPem: string, keyPem: string): DeviceIdentity {
  const deviceId = deviceIdOfCertificate(certPem);
  return { deviceId, displayId: formatDeviceId(deviceId), shortId: shortDeviceId(deviceId), certPem, keyPem };
}

/**
 * @peculiar/x509, loaded only to create a certificate: loading it took 3-4% of a joiner's
 * main thread, a tenth of every start.
 */
async function loadX509(): Promise<typeof import("@peculiar/x509")> {
  await import("reflect-metadata"); // @peculiar/x509 needs it loaded first (DENO-FACTS §1).
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(crypto);
  return x509;
}

async function createCertificate(deviceName: string): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: toHex(crypto.getRandomValues(new Uint8Array(16))),
    name: `CN=fsync ${deviceName.replace(/[,=+<>#;"\\]/g, "_")}`,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 20 * 365 * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "fsync" }]),
    ],
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const b64 = btoa(String.fromCharCode(...pkcs8)).match(/.{1,64}/g)!.join("\n");
  return { certPem: cert.toString("pem"), keyPem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n` };
}
