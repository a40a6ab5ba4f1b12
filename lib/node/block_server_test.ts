import assert from "node:assert/strict";
import { join } from "node:path";
import { type FileInfo, mtimeNsOf } from "../model/mod.ts";
import { Store } from "../store/mod.ts";
import { BlockServer } from "./block_server.ts";

const FOLDER = "f1";

/** The local entry of the file at `path` as a scan would record it (hashes do not matter here). */
async function recorded(root: string, path: string): Promise<FileInfo> {
  const st = await Deno.lstat(join(root, path));
  return {
    path,
    type: "file",
    size: st.size,
    mtimeNs: mtimeNsOf(st.mtime),
    mode: 0o644,
    deleted: false,
    version: { ME00000: 1 },
    sequence: 0,
    blockSizes: Uint32Array.of(st.size),
    blockHashes: new Uint8Array(32),
    contentHash: new Uint8Array(32),
    symlinkTarget: "",
    modifiedBy: "ME00000",
    inode: st.ino ?? 0,
  };
}

async function withServer(
  fn: (root: string, store: Store, server: BlockServer, stale: string[]) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  const store = await Store.open(":memory:");
  const stale: string[] = [];
  try {
    await fn(root, store, new BlockServer(store, (_, path) => stale.push(path)), stale);
  } finally {
    store.close();
    await Deno.remove(root, { recursive: true });
  }
}

const want = (path: string, offset: number, size: number) => ({ path, offset, size, hash: new Uint8Array(32) });

Deno.test("a block is served while the file is the version the index recorded", () =>
  withServer(async (root, store, server, stale) => {
    await Deno.writeTextFile(join(root, "a.txt"), "hello world");
    await store.commitLocal(FOLDER, [await recorded(root, "a.txt")]);
    assert.deepEqual(
      new TextDecoder().decode(await server.serve(FOLDER, root, want("a.txt", 6, 5)) as Uint8Array),
      "world",
    );
    assert.equal(await server.serve(FOLDER, root, want("a.txt", 6, 6)), "invalid-request");
    assert.equal(await server.serve(FOLDER, root, want("missing.txt", 0, 1)), "no-such-file");
    assert.deepEqual(stale, []);
  }));

Deno.test("a file changed since its scan is answered 'changed' and reported stale", () =>
  withServer(async (root, store, server, stale) => {
    await Deno.writeTextFile(join(root, "a.txt"), "version one");
    await store.commitLocal(FOLDER, [await recorded(root, "a.txt")]);
    await Deno.writeTextFile(join(root, "a.txt"), "version two, longer");
    assert.equal(await server.serve(FOLDER, root, want("a.txt", 0, 4)), "changed");
    assert.deepEqual(stale, ["a.txt"]);
  }));

Deno.test("an entry recorded again since the server last read it is looked up afresh, not called stale", () =>
  withServer(async (root, store, server, stale) => {
    await Deno.writeTextFile(join(root, "a.txt"), "version one");
    await store.commitLocal(FOLDER, [await recorded(root, "a.txt")]);
    assert.ok(await server.serve(FOLDER, root, want("a.txt", 0, 4)) instanceof Uint8Array); // entry now kept
    await Deno.remove(join(root, "a.txt"));
    await Deno.writeTextFile(join(root, "a.txt"), "version TWO"); // the same size, a new inode
    await store.commitLocal(FOLDER, [await recorded(root, "a.txt")]);
    const data = await server.serve(FOLDER, root, want("a.txt", 8, 3));
    assert.equal(new TextDecoder().decode(data as Uint8Array), "TWO");
    assert.deepEqual(stale, []);
  }));
