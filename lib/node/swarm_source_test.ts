import assert from "node:assert/strict";
import type { BlockWant, FileInfo } from "../model/mod.ts";
import { BlockUnavailableError, type PeerSession, PeerUnreachableError } from "../net/mod.ts";
import { silentLogger } from "./logger.ts";
import { SWARM_MIN_BYTES, type SwarmContext, SwarmSource } from "./swarm_source.ts";

const MiB = 1 << 20;
const bigFile = { path: "big.bin", size: 64 * MiB } as FileInfo;
const want = (i: number): BlockWant => ({ path: "big.bin", offset: i * MiB, size: MiB, hash: new Uint8Array(32) });

/** A peer as the swarm sees it: a session object, what it answers, and what it was asked. */
interface FakePeer {
  readonly session: PeerSession;
  asked: number;
  /** The offsets it was asked for. */
  offsets: number[];
  /** Answers a request (after a tick, so requests overlap). */
  answer: (w: BlockWant) => Promise<Uint8Array>;
  holds: boolean;
  connected: boolean;
}

function peer(holds = true): FakePeer {
  return {
    session: {} as PeerSession,
    asked: 0,
    offsets: [],
    answer: async (w) => {
      await new Promise((r) => setTimeout(r, 2));
      return new Uint8Array(w.size);
    },
    holds,
    connected: true,
  };
}

function swarm(peers: Record<string, FakePeer>, excluded = new Set<string>()): SwarmSource {
  const bySession = new Map(Object.values(peers).map((p) => [p.session, p]));
  const ctx: SwarmContext = {
    folderId: "f",
    primary: "A",
    logger: silentLogger,
    excluded,
    session: (id) => peers[id]?.connected ? peers[id].session : undefined,
    otherPeers: () => Promise.resolve(Object.keys(peers).filter((id) => id !== "A" && peers[id].connected)),
    holds: (id) => Promise.resolve(peers[id].holds),
    fetch: (session, w) => {
      const p = bySession.get(session)!;
      p.asked++;
      p.offsets.push(w.offset);
      return p.answer(w);
    },
  };
  return new SwarmSource(ctx);
}

/** Fetches `n` ranges of `of`, `inFlight` at a time, as the puller does. */
async function fetchAll(source: SwarmSource, n: number, inFlight = 8, of = bigFile): Promise<void> {
  const file = await source.forFile(of);
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) await file.fetchBlock(want(next++));
  }));
}

Deno.test("a large file's ranges are spread over every holder; a small one's come from the primary alone", async () => {
  const peers = { A: peer(), B: peer(), C: peer(false) };
  await fetchAll(swarm(peers), 64);
  assert.equal(peers.A.asked + peers.B.asked, 64);
  assert.ok(peers.A.asked >= 16 && peers.B.asked >= 16, `A ${peers.A.asked}, B ${peers.B.asked}`);
  assert.equal(peers.C.asked, 0, "a peer without that content is never asked");

  const small = { A: peer(), B: peer() };
  const source = swarm(small);
  const smallFile = { ...bigFile, size: SWARM_MIN_BYTES - 1 };
  assert.equal(await source.forFile(smallFile), source);
  await fetchAll(source, 7, 8, smallFile);
  assert.deepEqual([small.A.asked, small.B.asked], [7, 0]);
});

Deno.test("a holder that goes away or cannot serve is dropped and its ranges asked of another: the file completes", async (t) => {
  for (
    const [what, failure] of [
      ["disconnected", new PeerUnreachableError("connection closed")],
      ["no longer has it", new BlockUnavailableError("changed")],
    ] as const
  ) {
    await t.step(`the primary ${what} after 10 ranges`, async () => {
      const peers = { A: peer(), B: peer() };
      const answer = peers.A.answer;
      peers.A.answer = (w) => peers.A.asked > 10 ? Promise.reject(failure) : answer(w);
      await fetchAll(swarm(peers), 64);
      assert.ok(peers.A.asked <= 11 + 8, `A was dropped after its failure (asked ${peers.A.asked})`);
      assert.ok(peers.B.asked >= 64 - 10, `B served the rest (${peers.B.asked})`);
    });
  }
  await t.step("every holder fails: the last error", async () => {
    const peers = { A: peer(), B: peer() };
    peers.A.answer = () => Promise.reject(new PeerUnreachableError("A gone"));
    peers.B.answer = () => Promise.reject(new BlockUnavailableError("B changed"));
    const file = await swarm(peers).forFile(bigFile);
    await assert.rejects(file.fetchBlock(want(0)), /A gone|B changed/);
  });
  await t.step("an unexpected error is not retried elsewhere", async () => {
    const peers = { A: peer(), B: peer() };
    peers.A.answer = () => Promise.reject(new TypeError("bug"));
    peers.B.answer = () => Promise.reject(new TypeError("bug"));
    const file = await swarm(peers).forFile(bigFile);
    await assert.rejects(file.fetchBlock(want(0)), TypeError);
  });
});

Deno.test("a holder that connects while the file is fetched joins in", async () => {
  const peers = { A: peer(), B: peer() };
  peers.B.connected = false;
  const source = swarm(peers);
  const file = await source.forFile(bigFile);
  let next = 0;
  const slowA = peers.A.answer;
  peers.A.answer = async (w) => {
    await new Promise((r) => setTimeout(r, 20));
    return await slowA(w);
  };
  setTimeout(() => peers.B.connected = true, 300);
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < 300) await file.fetchBlock(want(next++));
  }));
  assert.ok(peers.B.asked > 0, "B was asked once connected");
});

Deno.test("a peer whose data did not match is excluded from the folder's swarms; the primary is not", async () => {
  const excluded = new Set<string>();
  const peers = { A: peer(), B: peer() };
  const source = swarm(peers, excluded);
  const file = await source.forFile(bigFile);
  // Two ranges at once: one from each. Each is rejected, as the puller does when a hash does not match.
  await Promise.all([file.fetchBlock(want(0)), file.fetchBlock(want(1))]);
  assert.deepEqual([peers.A.offsets.length, peers.B.offsets.length], [1, 1]);
  file.rejected?.(want(peers.A.offsets[0] / MiB));
  assert.deepEqual([...excluded], [], "the primary's bad data fails its own pull, as without others");
  file.rejected?.(want(peers.B.offsets[0] / MiB));
  assert.deepEqual([...excluded], ["B"]);
  const again = { A: peers.A.asked, B: peers.B.asked };
  await fetchAll(source, 16);
  assert.equal(peers.B.asked, again.B, "B is asked nothing more");
  assert.equal(peers.A.asked, again.A + 16);
});
