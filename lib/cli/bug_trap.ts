/**
 * The net under every command: an unhandled rejection or an uncaught error is a bug. It is
 * reported once as an internal error, the command is asked to stop as at SIGTERM (sessions
 * closed, the index committed), and the process exits 70 whatever the command then returns,
 * or after GRACE_MS if it does not end by itself. Deno's default, a stack trace and exit 1
 * from wherever the rejection happened, never happens.
 */

/** How long a command has to stop cleanly after a bug. */
export const GRACE_MS = 10_000;

let trapped: unknown;
let requestStop: () => void = () => {};
const stopRequest = new Promise<void>((resolve) => requestStop = resolve);

/** Resolves when a bug was trapped: the command should stop as at SIGTERM. */
export function stopRequested(): Promise<void> {
  return stopRequest;
}

/** True once a bug was trapped. */
export function bugTrapped(): boolean {
  return trapped !== undefined;
}

/** The one line and stack that report a bug. */
function reportOf(error: unknown): string {
  const stack = error instanceof Error ? error.stack ?? error.message : String(error);
  return `fsync: internal error (a bug, please report it): ${stack}`;
}

/**
 * Traps the process's unhandled rejections and uncaught errors: the first is reported with
 * `report`, stops the command (see {@linkcode stopRequested}) and, if the command is still
 * running after `graceMs`, calls `exit`. Returns a function that removes the trap.
 */
export function trapBugs(report: (line: string) => void, exit: () => void, graceMs = GRACE_MS): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onBug = (error: unknown) => {
    if (trapped !== undefined) return;
    trapped = error ?? new Error("undefined was thrown");
    report(reportOf(error));
    requestStop();
    timer = setTimeout(exit, graceMs);
  };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    onBug(e.reason);
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    onBug(e.error ?? e.message);
  };
  addEventListener("unhandledrejection", onRejection);
  addEventListener("error", onError);
  return () => {
    clearTimeout(timer);
    removeEventListener("unhandledrejection", onRejection);
    removeEventListener("error", onError);
  };
}
