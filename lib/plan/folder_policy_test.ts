import assert from "node:assert/strict";
import type { FileInfo, FolderMode } from "../model/mod.ts";
import { countNeeds, folderDecider, folderModeOf } from "./folder_policy.ts";

function entry(path: string, version: Record<string, number>, extra: Partial<FileInfo> = {}): FileInfo {
  return {
    path,
    type: "file",
    size: 10,
    mtimeNs: 1n,
    mode: 0o644,
    deleted: false,
    version,
    sequence: 1,
    blockSizes: new Uint32Array(),
    blockHashes: new Uint8Array(32),
    contentHash: new Uint8Array(32).fill(version.P ?? 0),
    symlinkTarget: "",
    modifiedBy: Object.keys(version)[0],
    inode: 0,
    ...extra,
  };
}

Deno.test("folderDecider(): what a folder takes of a peer's entry, by mode and ignore rules", async (t) => {
  const ignores = (path: string) => path.startsWith("build/");
  const mine = entry("a.txt", { ME: 1 }, { mtimeNs: 5n });
  const theirs = entry("a.txt", { P: 1 }, { mtimeNs: 1n }); // concurrent, older
  const cases: { description: string; mode: FolderMode; local?: FileInfo; remote: FileInfo; want?: string }[] = [
    { description: "send-receive takes a new file", mode: "send-receive", remote: theirs, want: "fetch" },
    { description: "send-only takes nothing", mode: "send-only", remote: theirs, want: undefined },
    { description: "an ignored path is left alone", mode: "send-receive", remote: entry("build/x", { P: 1 }) },
    {
      description: "send-receive keeps the later of two concurrent edits (its own)",
      mode: "send-receive",
      local: mine,
      remote: theirs,
      want: "keep",
    },
    {
      description: "receive-only lets the peer's edit win (its own is kept as a copy)",
      mode: "receive-only",
      local: mine,
      remote: theirs,
      want: "fetch",
    },
  ];
  for (const c of cases) {
    await t.step(c.description, () => {
      assert.equal(folderDecider(ignores, "ME", c.mode)(c.local, c.remote)?.action, c.want);
    });
  }
});

Deno.test("countNeeds() counts what changes the disk, and the bytes to fetch; folderModeOf() prefers the override", async () => {
  async function* pairs() {
    yield { remote: entry("new.bin", { P: 1 }, { size: 100 }) }; // fetch
    yield { local: entry("same", { P: 1 }), remote: entry("same", { P: 1 }) }; // keep
    yield { local: entry("gone", { P: 1 }), remote: entry("gone", { P: 2 }, { deleted: true, size: 0 }) }; // delete
    yield { remote: entry("never-had", { P: 1 }, { deleted: true }) }; // record only
  }
  assert.deepEqual(await countNeeds(pairs(), folderDecider(() => false, "ME", "send-receive")), {
    files: 2,
    bytes: 100,
  });
  const folder = { path: "/f", mode: "send-only" as const };
  assert.equal(folderModeOf(folder), "send-only");
  assert.equal(folderModeOf(folder, new Map([["/f", "receive-only" as const]])), "receive-only");
  assert.equal(folderModeOf({ path: "/g" }), "send-receive");
});
