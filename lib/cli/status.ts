// deno-lint-ignore-file no-console -- a command prints for people on standard output.
import { humanBytes, printable, readConflicts, readStatus, shortOfDisplayId, type StatusReport } from "../../mod.ts";
import { type CliContext, configuredModes } from "./context.ts";

/** Unsyncable paths printed per folder; `--json` lists more. */
const UNSYNCABLE_PRINTED = 10;

/** `fsync status [--json]`: folders, what is needed from whom, peers, conflicts, the last problem. */
export async function status(json: boolean, ctx: CliContext): Promise<void> {
  const report = await readStatus(ctx.home, {
    ignoreDefaults: ctx.config.ignoreDefaults,
    folderModes: configuredModes(ctx.config),
  });
  if (json) console.log(JSON.stringify(report, null, 2));
  else console.log(formatStatus(report));
}

/** The status for people. */
export function formatStatus(report: StatusReport): string {
  const lines = [report.running ? "fsync is running on this home" : "fsync is not running (read from the store)"];
  if (report.folders.length === 0) lines.push("no folders yet");
  for (const f of report.folders) {
    const conflicts = f.conflicts > 0 ? `, ${f.conflicts} conflict cop${f.conflicts === 1 ? "y" : "ies"}` : "";
    lines.push(`folder "${f.label}" ${f.path} (${f.mode}): ${f.files} files, ${humanBytes(f.bytes)}${conflicts}`);
    if (f.problem !== null) lines.push(`  PROBLEM: ${f.problem}`);
    if (f.unsyncableCount > 0) {
      lines.push(`  cannot sync ${f.unsyncableCount} path${f.unsyncableCount === 1 ? "" : "s"}:`);
      for (const p of f.unsyncable.slice(0, UNSYNCABLE_PRINTED)) {
        lines.push(`    ${printable(`${p.path}: ${p.message}`)}`);
      }
      const more = f.unsyncableCount - Math.min(f.unsyncable.length, UNSYNCABLE_PRINTED);
      if (more > 0) lines.push(`    and ${more} more (fsync status --json lists ${f.unsyncable.length})`);
    }
    if (f.peers.length === 0) lines.push("  shared with no peer yet");
    for (const p of f.peers) {
      const state = p.inSync ? "in sync" : `needs ${p.needFiles} files (${humanBytes(p.needBytes)}) from it`;
      const sent = p.bytesSent > 0 ? `, sent it ${humanBytes(p.bytesSent)}` : "";
      lines.push(`  ${nameOf(p)} (${shortOfDisplayId(p.deviceId)}): ${seenOf(p)}, ${state}${sent}`);
    }
  }
  if (report.peers.length > 0) lines.push("peers:");
  for (const p of report.peers) {
    lines.push(
      `  ${p.deviceId}  ${nameOf(p)}  ${p.address || "-"}  ${p.trusted ? "trusted" : "revoked"}  ${seenOf(p)}`,
    );
  }
  const e = report.lastError;
  if (e) {
    const about = [e.folder, e.peer].filter(Boolean).join(" ");
    lines.push(`last problem (${e.time}): ${about ? `[${about}] ` : ""}${e.message}`);
  }
  return lines.join("\n");
}

/** `fsync conflicts [--json]`: each conflict copy, with the two versions' origins and times. */
export async function conflicts(json: boolean, ctx: CliContext): Promise<void> {
  const list = await readConflicts(ctx.home);
  if (json) {
    console.log(JSON.stringify(list, null, 2));
    return;
  }
  if (list.length === 0) console.log("no conflict copies");
  for (const c of list) {
    const now = c.originalOrigin
      ? `${c.original} now holds ${c.originalOrigin}'s version of ${c.originalModified}`
      : `${c.original} was deleted since`;
    console.log(
      `[${c.folder}] ${c.copy}: ${c.copyOrigin}'s version of ${c.copyModified}, kept at ${c.resolvedAt}; ${now}`,
    );
  }
}

/** Whether a peer is connected, or when it was last seen. */
export function seenOf(peer: { readonly connected: boolean; readonly lastSeen: string | null }): string {
  return peer.connected ? "connected" : peer.lastSeen ? `last seen ${peer.lastSeen}` : "never seen";
}

/** One line of `fsync peers`: ID, trust, name, address, folders, connected or last seen, who introduced it. */
export function formatPeer(peer: StatusReport["peers"][number], all: StatusReport["peers"]): string {
  const folders = peer.folders.length > 0 ? peer.folders.map((f) => `"${f}"`).join(", ") : "nothing";
  const introducer = peer.introducedBy && all.find((p) => p.deviceId === peer.introducedBy);
  const introduced = peer.introducedBy
    ? `  introduced by ${introducer ? nameOf(introducer) : shortOfDisplayId(peer.introducedBy)}`
    : "";
  return `${peer.deviceId}  ${peer.trusted ? "trusted" : "revoked"}  ${nameOf(peer)}  ${peer.address || "-"}  ` +
    `shares ${folders}  ${seenOf(peer)}${introduced}`;
}

/** A peer's name as printed: "?" for a device trusted by config.toml that has not connected yet (it has none). */
export function nameOf(peer: { readonly name: string }): string {
  return peer.name || "?";
}
