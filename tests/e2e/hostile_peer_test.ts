import assert from "node:assert/strict";
import { join } from "node:path";
import { waitContent } from "../support/tree.ts";
import { fileEntry, startFakeSharer } from "../support/fake_peer.ts";
import { FsyncProcess } from "../support/peer.ts";

const encoder = new TextEncoder();

/** Starts a real joiner against a fake sharer and hands the scripted session to `play`. */
async function againstFakeSharer(
  play: (session: Awaited<ReturnType<typeof startFakeSharer>>["connected"] extends Promise<infer S> ? S : never, dir: {
    tmp: string;
    dst: string;
  }) => Promise<void>,
  expectLog: RegExp,
  /** Waited for after the log line, while the joiner still runs (what else the same pass writes). */
  andThen?: (dir: { tmp: string; dst: string }) => Promise<void>,
): Promise<{ tmp: string; dst: string; log: string; cleanup: () => Promise<void> }> {
  const tmp = await Deno.makeTempDir({ prefix: "fsync-e2e-hostile-" });
  const dst = join(tmp, "dst");
  const fake = await startFakeSharer("evil-folder");
  const joiner = FsyncProcess.start(["--home", join(tmp, "home"), "join", `127.0.0.1:${fake.port}`, dst, "--yes"]);
  try {
    await play(await fake.connected, { tmp, dst });
    await joiner.waitFor(expectLog, 30_000);
    await andThen?.({ tmp, dst });
  } finally {
    await joiner.stop("SIGTERM");
    await fake.close();
  }
  return { tmp, dst, log: joiner.log(), cleanup: () => Deno.remove(tmp, { recursive: true }) };
}

Deno.test("a peer announcing a path with .. is disconnected and nothing is written outside the folder", async () => {
  const r = await againstFakeSharer(async (s) => {
    await s.send({
      type: "indexUpdate",
      folderId: "evil-folder",
      files: [fileEntry("../escaped.txt", encoder.encode("pwned"), 1)],
      maxSequence: 1,
    });
  }, /broke the protocol: .*unsafe path "\.\.\/escaped\.txt"/);
  try {
    await assert.rejects(Deno.stat(join(r.tmp, "escaped.txt")), Deno.errors.NotFound);
  } finally {
    await r.cleanup();
  }
});

Deno.test("a peer announcing an absolute path, a NUL or an over-long name is disconnected", async (t) => {
  for (const path of ["/tmp/fsync-absolute-escape.txt", "a\0b", "dir\\..\\x", "C:evil", `${"x".repeat(256)}.txt`]) {
    await t.step(JSON.stringify(path), async () => {
      const r = await againstFakeSharer(async (s) => {
        await s.send({
          type: "indexUpdate",
          folderId: "evil-folder",
          files: [fileEntry(path, encoder.encode("pwned"), 1)],
          maxSequence: 1,
        });
      }, /broke the protocol: .*unsafe path/);
      await r.cleanup();
    });
  }
  await assert.rejects(Deno.stat("/tmp/fsync-absolute-escape.txt"), Deno.errors.NotFound);
});

Deno.test("a peer announcing blocks with a gap, an overlap or over 1 MiB is disconnected and nothing is written", async (t) => {
  const content = new Uint8Array(3 * 1024 * 1024).fill(7);
  const honest = fileEntry("big.bin", content, 1);
  const hashesFor = (count: number) => new Uint8Array(count * 32).map((_, i) => honest.blockHashes[i % 32]);
  const cases = [
    {
      what: "gap",
      sizes: Uint32Array.of(1024 * 1024, 1024 * 1024),
      why: /blocks of 2097152 bytes for a file of 3145728/,
    },
    {
      what: "overlap",
      sizes: new Uint32Array(4).fill(1024 * 1024),
      why: /blocks of 4194304 bytes for a file of 3145728/,
    },
    { what: "oversized", sizes: Uint32Array.of(3 * 1024 * 1024), why: /block 0 of 3145728 bytes is outside/ },
  ];
  for (const c of cases) {
    await t.step(c.what, async () => {
      const blockHashes = hashesFor(c.sizes.length);
      const r = await againstFakeSharer(async (s) => {
        await s.send({
          type: "indexUpdate",
          folderId: "evil-folder",
          files: [{ ...honest, blockSizes: c.sizes, blockHashes }],
          maxSequence: 1,
        });
      }, new RegExp(`broke the protocol: .*${c.why.source}`));
      try {
        assert.deepEqual([...Deno.readDirSync(r.dst)].filter((e) => e.name !== ".fsyncfolder"), []);
      } finally {
        await r.cleanup();
      }
    });
  }
});

Deno.test("a block whose hash does not match is rejected, logged, and never written", async () => {
  const r = await againstFakeSharer(async (s) => {
    const honest = encoder.encode("the real content\n");
    await s.send({
      type: "indexUpdate",
      folderId: "evil-folder",
      files: [fileEntry("good.txt", honest, 1)],
      maxSequence: 1,
    });
    const request = await s.next("blockRequest");
    await s.send({ type: "blockResponse", id: request.id, data: encoder.encode("forged content!!\n"), error: "none" });
  }, /good\.txt: block at offset 0 from the peer does not match its hash \(rejected\)/);
  try {
    await assert.rejects(Deno.stat(join(r.dst, "good.txt")), Deno.errors.NotFound);
  } finally {
    await r.cleanup();
  }
});

Deno.test("a file under a symlink that points outside the folder is refused", async () => {
  const outside = await Deno.makeTempDir({ prefix: "fsync-e2e-outside-" });
  try {
    const r = await againstFakeSharer(async (s) => {
      const content = encoder.encode("pwned\n");
      await s.send({
        type: "indexUpdate",
        folderId: "evil-folder",
        files: [
          { ...fileEntry("link", new Uint8Array(), 1), type: "symlink", symlinkTarget: outside, size: 0 },
          fileEntry("link/pwned.txt", content, 2),
        ],
        maxSequence: 2,
      });
      // Serve whatever is asked honestly, until the joiner goes: the refusal must come from the joiner itself.
      void (async () => {
        while (true) {
          const request = await s.next("blockRequest");
          await s.send({ type: "blockResponse", id: request.id, data: content, error: "none" });
        }
      })().catch(() => {/* the joiner hung up: the script is over */});
    }, /cannot sync link\/pwned\.txt: refusing to write link\/pwned\.txt: parent .* is a symlink/);
    try {
      assert.deepEqual([...Deno.readDirSync(outside)], []);
      assert.equal(Deno.readLinkSync(join(r.dst, "link")), outside);
    } finally {
      await r.cleanup();
    }
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("two names that differ only in case: the first is written, the twin refused with a clear message", async () => {
  const r = await againstFakeSharer(
    async (s) => {
      const content = encoder.encode("upper\n");
      await s.send({
        type: "indexUpdate",
        folderId: "evil-folder",
        files: [
          fileEntry("README.md", content, 1),
          fileEntry("Readme.md", encoder.encode("mixed\n"), 2),
          fileEntry("DOCS", new Uint8Array(), 3),
        ],
        maxSequence: 3,
      });
      const request = await s.next("blockRequest");
      await s.send({ type: "blockResponse", id: request.id, data: content, error: "none" });
    },
    /cannot sync Readme\.md: Readme\.md: differs only in case from "README\.md"/,
    async ({ dst }) => {
      // The twin is refused as the pass meets it; README.md arrives in the same pass, maybe after.
      await waitContent(join(dst, "README.md"), "upper\n");
    },
  );
  try {
    assert.deepEqual([...Deno.readDirSync(r.dst)].map((e) => e.name).sort(), [".fsyncfolder", "DOCS", "README.md"]);
    assert.equal(await Deno.readTextFile(join(r.dst, "README.md")), "upper\n");
  } finally {
    await r.cleanup();
  }
});
