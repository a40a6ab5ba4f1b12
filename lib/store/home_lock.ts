import { join } from "node:path";
import { ExitCode, FsyncError } from "../model/mod.ts";
import { PRIVATE_FILE_MODE } from "./home.ts";

/** Another fsync process holds the home directory. */
export class HomeLockedError extends FsyncError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, ExitCode.tempFail, { ...options, hint: "stop the other fsync, or pass another --home" });
  }
}

/**
 * Takes the exclusive lock of a home directory for this process: two fsync processes on
 * one KV would each miss the other's writes (KV watch sees its own process only).
 * The lock is released when the returned file is closed or the process exits.
 *
 * @throws {HomeLockedError} when another process holds it.
 */
export async function lockHome(home: string): Promise<Deno.FsFile> {
  const file = await Deno.open(join(home, "lock"), { read: true, write: true, create: true, mode: PRIVATE_FILE_MODE });
  if (!(await file.tryLock(true))) {
    const pid = new TextDecoder().decode(await readAll(file)).trim();
    file.close();
    throw new HomeLockedError(`home ${home} is in use by another fsync process${pid ? ` (pid ${pid})` : ""}`);
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  return file;
}

async function readAll(file: Deno.FsFile): Promise<Uint8Array> {
  const buf = new Uint8Array(32);
  const n = await file.read(buf);
  return buf.subarray(0, n ?? 0);
}
