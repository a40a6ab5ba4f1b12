/**
 * Deno's permission sandbox around every command. The process starts with the rights of
 * `permissions.ts`, used by this first stage only: it works out what the command may touch
 * (`grants.ts`) and runs the command in a Worker that may read and write nothing but the
 * home and the folders, reach the network only when it talks to peers, and read a short list
 * of environment variables. A bug that would touch anything else fails with Deno's
 * NotCapable error instead.
 *
 * One operation is done by the first stage for the Worker: Deno refuses to create a symlink
 * under path-scoped write rights (a link's target is resolved only when it is followed), so
 * the Worker asks, and the first stage creates the link if its path lies inside a granted
 * place. The link's target is data, as it is on the peer that sent it.
 */
import { dirname, resolve } from "node:path";
import { ExitCode } from "../model/mod.ts";
import { bugTrapped, trapBugs } from "./bug_trap.ts";
import type { Grants } from "./grants.ts";
import { ENV, SYS } from "./permissions.ts";

/** Raised when the command's Worker dies of an error the command did not catch. */
export class SandboxCrash extends Error {}

const SANDBOX_NAME = "fsync-command";

/** Room for a symlink request's outcome: a state word, an error kind, a length, the message. */
const REPLY_BYTES = 4096;
/** The Deno error classes a symlink request can end with, by index (0: done). */
const ERROR_KINDS = ["", "AlreadyExists", "NotFound", "PermissionDenied", "NotCapable", "Error"] as const;

/** What the Worker posts: its exit code once the command ended, or a symlink to create. */
type Request =
  | { readonly kind: "exit"; readonly exitCode: number }
  | { readonly kind: "symlink"; readonly target: string; readonly path: string; readonly reply: SharedArrayBuffer };

/** True when `path` is one of `places` or below one. */
function isInside(path: string, places: readonly string[]): boolean {
  return places.some((p) => path === p || path.startsWith(p.endsWith("/") ? p : `${p}/`));
}

/** Creates a symlink the Worker asked for, if its path is inside a granted place; the outcome goes into `reply`. */
function createSymlink(request: Extract<Request, { kind: "symlink" }>, grants: Grants): void {
  const state = new Int32Array(request.reply, 0, 3);
  let kind = 0;
  let message = "";
  try {
    const path = resolve(request.path);
    if (!isInside(path, grants.write) || !isInside(Deno.realPathSync(dirname(path)), grants.write)) {
      throw new Deno.errors.NotCapable(`refusing to create a symlink at ${path}: outside the folders`);
    }
    Deno.symlinkSync(request.target, path);
  } catch (e) {
    const name = (e as Error).name as (typeof ERROR_KINDS)[number];
    kind = ERROR_KINDS.includes(name) && name !== "" ? ERROR_KINDS.indexOf(name) : ERROR_KINDS.indexOf("Error");
    message = (e as Error).message;
  }
  const bytes = new TextEncoder().encode(message).subarray(0, REPLY_BYTES - 12);
  new Uint8Array(request.reply, 12).set(bytes);
  state[1] = kind;
  state[2] = bytes.length;
  Atomics.store(state, 0, 1);
  Atomics.notify(state, 0);
}

/**
 * Runs the module at `url` in a Worker limited to `grants`, hands it `args`, and resolves
 * with the exit code the Worker reports (see {@linkcode serveSandboxed}).
 *
 * @throws {SandboxCrash} when the Worker fails with an uncaught error.
 */
export function runSandboxed(url: URL, args: readonly string[], grants: Grants): Promise<number> {
  const worker = new Worker(url, {
    type: "module",
    name: SANDBOX_NAME,
    deno: {
      permissions: {
        read: [...grants.read],
        write: [...grants.write],
        net: grants.net === true ? true : [...grants.net],
        env: [...ENV],
        sys: [...SYS],
        run: false,
        ffi: false,
        import: false,
      },
    },
  } as WorkerOptions);
  return new Promise<number>((resolveExit, reject) => {
    worker.onmessage = (e: MessageEvent<Request>) => {
      if (e.data.kind === "symlink") return createSymlink(e.data, grants);
      worker.terminate();
      resolveExit(e.data.exitCode);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new SandboxCrash(e.message));
    };
    worker.postMessage(args);
  });
}

/** The Worker's side of the messages. */
function workerScope(): { onmessage: (e: MessageEvent<string[]>) => void; postMessage(request: Request): void } {
  return globalThis as unknown as ReturnType<typeof workerScope>;
}

/** True inside the command's Worker. */
export function inSandbox(): boolean {
  return "WorkerGlobalScope" in globalThis && (globalThis as { name?: string }).name === SANDBOX_NAME;
}

/**
 * Inside the Worker: waits for the arguments, runs `command` with them, and reports its exit
 * code; after a bug (see `bug_trap.ts`, which `report`s it), 70.
 */
export function serveSandboxed(command: (args: string[]) => Promise<number>, report: (line: string) => void): void {
  const scope = workerScope();
  const exit = (exitCode: number) => scope.postMessage({ kind: "exit", exitCode });
  trapBugs(report, () => exit(ExitCode.bug));
  scope.onmessage = async (e) => {
    let exitCode: number = ExitCode.bug;
    try {
      exitCode = await command(e.data);
    } finally {
      exit(bugTrapped() ? ExitCode.bug : exitCode);
    }
  };
}

/**
 * Inside the Worker: creates a symlink at `path` pointing to `target` through the first
 * stage, waiting for it as `Deno.symlinkSync` would, and throwing the same Deno errors.
 */
export function symlinkThroughLauncher(target: string, path: string): void {
  const reply = new SharedArrayBuffer(REPLY_BYTES);
  const state = new Int32Array(reply, 0, 3);
  workerScope().postMessage({ kind: "symlink", target, path, reply });
  Atomics.wait(state, 0, 0);
  const kind = ERROR_KINDS[state[1]];
  if (!kind) return;
  const message = new TextDecoder().decode(new Uint8Array(reply, 12, state[2]));
  throw kind === "Error" ? new Error(message) : new Deno.errors[kind](message);
}
