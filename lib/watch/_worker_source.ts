/**
 * The watcher Worker's program, as JavaScript source. It runs from a Blob URL, so the
 * bundle and the compiled binary need no extra file. The Worker only drains Deno.watchFs
 * and posts batches every 20 ms: a blocked main thread then loses far fewer events
 * (DENO-FACTS §4: 99-100% delivered, against up to 27% lost on the main thread).
 *
 * Messages out: `{ ready: true }` once the folder is watched (Deno.watchFs returns after the
 * kernel watches are added), then `{ paths: string[], rescan: boolean }`, or `{ error: string }`
 * when watching fails. A path that is not valid UTF-8 does not end it (the folder is watched
 * again, then rescanned in full). The root removed ends Deno's stream silently, after an
 * event naming the root, which the owner takes as a reason for a full scan.
 */
export const WATCH_WORKER_SOURCE = `
const root = self.name;
let paths = [];
let rescan = false;
setInterval(() => {
  if (paths.length === 0 && !rescan) return;
  self.postMessage({ paths, rescan });
  paths = [];
  rescan = false;
}, 20);
let ready = false;
let delayMs = 0;
for (;;) {
  let watcher;
  try {
    watcher = Deno.watchFs(root, { recursive: true });
  } catch (e) {
    self.postMessage({ error: String(e && e.message || e) });
    break;
  }
  const since = Date.now();
  if (ready) rescan = true; // watched again: what changed meanwhile is found by a full scan
  else self.postMessage({ ready: (ready = true) });
  try {
    for await (const event of watcher) {
      if (event.flag === "rescan") rescan = true;
      for (const p of event.paths) paths.push(p);
    }
    break;
  } catch (e) {
    const message = String(e && e.message || e);
    if (!/invalid UTF-8/.test(message)) {
      self.postMessage({ error: message });
      break;
    }
    // An event named a path that is not valid UTF-8, which ends Deno's watcher: watch again.
    // A name that keeps changing would restart (and rescan) back to back: each restart within
    // a minute of the last waits twice as long, up to a minute.
    try { watcher.close(); } catch { /* closed already */ }
    delayMs = Date.now() - since > 60000 ? 0 : Math.min(Math.max(2 * delayMs, 1000), 60000);
    await new Promise((r) => setTimeout(r, delayMs));
  }
}
`;
