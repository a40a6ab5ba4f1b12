import assert from "node:assert/strict";
import type { PeerSession } from "../net/mod.ts";
import type { Store } from "../store/mod.ts";
import type { DeviceEvent } from "./events.ts";
import { FolderLinks } from "./folder_link.ts";
import type { FolderRunner } from "./folder_runner.ts";
import { silentLogger } from "./logger.ts";
import type { PullResult } from "./pull_pass.ts";
import { PullScheduler } from "./pull_scheduler.ts";
import { until } from "../../tests/support/wait.ts";

const problem = { path: "big.bin", message: "connection lost" };
const result = (problems: PullResult["problems"]): PullResult => ({
  actions: 0,
  written: 0,
  problems,
  bytesFetched: 0,
  bytesReused: 0,
  changedLocally: [],
});

Deno.test("a pass failed by its session's end runs again at once over the newer session that asked for one meanwhile", async () => {
  const links = new FolderLinks();
  const sessions = [{ closed: false, send: () => Promise.resolve() }, { closed: false, send: () => Promise.resolve() }];
  let current = sessions[0];
  const passes: { session: unknown; release: (r: PullResult) => void }[] = [];
  const events: DeviceEvent[] = [];
  const tasks: Promise<unknown>[] = [];
  const runner = {
    policyKey: "p",
    pullFrom: () => new Promise<PullResult>((release) => passes.push({ session: current, release })),
  } as unknown as FolderRunner;
  const store = {
    remoteState: () => Promise.resolve({ indexId: "i", sequence: 5 }),
    getPulled: () => Promise.resolve(undefined),
    setPulled: () => Promise.resolve(),
  } as unknown as Store;
  const scheduler = new PullScheduler({
    links,
    store,
    logger: silentLogger,
    session: () => current as unknown as PeerSession,
    sharingPeers: () => Promise.resolve([]),
    runner: () => runner,
    rescan: () => Promise.resolve(),
    emit: (e) => events.push(e),
    track: (task) => (tasks.push(task), task),
    closed: () => false,
  });
  const pair = { folderId: "f", peerId: "P" };
  links.get("f", "P").session.announced = 5;
  scheduler.schedule(pair);
  await until(() => passes.length === 1, "the first pass");
  // The session ends mid-pass; the peer's next session announces the folder (a schedule) before the pass returns.
  sessions[0].closed = true;
  current = sessions[1];
  scheduler.schedule(pair);
  passes[0].release(result([problem]));
  await until(() => passes.length === 2, "a second pass, at once", 2_000);
  assert.equal(passes[1].session, sessions[1], "the second pass runs over the newer session");
  passes[1].release(result([]));
  await Promise.all(tasks);
  assert.ok(events.some((e) => e.type === "in-sync"), "and ends in sync");
  scheduler.close();
});
