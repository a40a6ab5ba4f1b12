import { isOsError } from "../fs/mod.ts";
import { ExitCode, FsyncError } from "../model/mod.ts";

/** Swallows what a closed socket or listener throws (EPIPE, ECONNRESET, a closed resource); rethrows the rest. */
function ignoreDisconnect(e: unknown): void {
  if (!isOsError(e) && !(e instanceof Deno.errors.BadResource) && !(e instanceof Deno.errors.Interrupted)) throw e;
}

/** What `fsync folder` asks of a folder: a rescan, a rescan confirming a held deletion, or taking an empty root. */
export type FolderAction = "rescan" | "confirm-deletes" | "accept-empty";

/** The folder actions a request may name. */
const FOLDER_ACTIONS: readonly string[] = ["rescan", "confirm-deletes", "accept-empty"];

/** What a folder action did: the changes its scan found, and what still keeps the folder from syncing. */
export interface FolderActionResult {
  readonly id: string;
  readonly label: string;
  readonly changes: number;
  readonly problem: string | null;
}

/** What a local client may ask a running device. */
export type ControlRequest =
  | { readonly command: "status" }
  | { readonly command: "folder"; readonly folder: string; readonly action: FolderAction };

/** The longest request line accepted. */
const MAX_REQUEST_BYTES = 4096;

/** A listening control endpoint. */
export interface ControlServer {
  close(): Promise<void>;
}

/**
 * Answers requests on a Unix socket at `path` (replacing a stale one: the caller holds the
 * home's lock): one JSON line in, one JSON line out, then the connection is closed.
 */
export async function serveControl(
  path: string,
  answer: (request: ControlRequest) => Promise<unknown>,
): Promise<ControlServer> {
  try {
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const listener = Deno.listen({ transport: "unix", path });
  await Deno.chmod(path, 0o600);
  const open = new Set<Promise<void>>();
  const serving = (async () => {
    for await (const conn of listener) {
      // A client that goes away mid-answer is its own problem, not the device's.
      const task = handle(conn, answer).catch(ignoreDisconnect).finally(() => open.delete(task));
      open.add(task);
    }
  })().catch(ignoreDisconnect); // ends when the listener closes
  return {
    async close() {
      listener.close();
      await serving;
      await Promise.all(open);
      await Deno.remove(path).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    },
  };
}

async function handle(conn: Deno.UnixConn, answer: (request: ControlRequest) => Promise<unknown>): Promise<void> {
  try {
    const line = await readLine(conn);
    let reply: unknown;
    try {
      reply = { ok: true, result: await answer(parseRequest(line)) };
    } catch (e) {
      // An FsyncError keeps its exit code and hint across the socket; anything else is a bug:
      // the client is told, and the error goes on to be reported as one.
      if (!(e instanceof FsyncError)) {
        await writeAll(conn, new TextEncoder().encode(JSON.stringify({ ok: false, error: "internal error" }) + "\n"));
        throw e;
      }
      reply = { ok: false, error: e.message, exitCode: e.exitCode, hint: e.hint };
    }
    await writeAll(conn, new TextEncoder().encode(JSON.stringify(reply) + "\n"));
  } finally {
    conn.close();
  }
}

/** The request on a line, checked. */
function parseRequest(line: string): ControlRequest {
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new FsyncError("the request is not JSON", ExitCode.usage);
  }
  if (request?.command === "status") return { command: "status" };
  if (request?.command === "folder" && typeof request.folder === "string" && FOLDER_ACTIONS.includes(request.action)) {
    return { command: "folder", folder: request.folder, action: request.action };
  }
  throw new FsyncError(`unknown command ${JSON.stringify(request?.command)}`, ExitCode.usage);
}

async function readLine(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(MAX_REQUEST_BYTES);
  let length = 0;
  while (length < buf.length) {
    const n = await conn.read(buf.subarray(length));
    if (n === null) break;
    length += n;
    if (buf.subarray(0, length).includes(10)) break;
  }
  return new TextDecoder().decode(buf.subarray(0, length)).split("\n")[0];
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let done = 0; done < data.length;) done += await conn.write(data.subarray(done));
}

/**
 * Asks the device running on the socket at `path`; undefined when none listens there.
 *
 * @throws {Error} when the device answers with an error, or does not answer within `timeoutMs`.
 */
export async function askControl(path: string, request: ControlRequest, timeoutMs = 10_000): Promise<unknown> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused) return undefined;
    throw e;
  }
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // already closed by the reader
    }
  }, timeoutMs);
  try {
    await writeAll(conn, new TextEncoder().encode(JSON.stringify(request) + "\n"));
    const text = await new Response(conn.readable).text();
    const reply = JSON.parse(text);
    if (!reply.ok && typeof reply.exitCode === "number") {
      throw new FsyncError(reply.error, reply.exitCode, { hint: reply.hint });
    }
    if (!reply.ok) throw new Error(`the running fsync answered: ${reply.error}`);
    return reply.result;
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof Deno.errors.BadResource) {
      throw new Error(`the running fsync did not answer within ${timeoutMs / 1000} s`);
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
