import { join } from "node:path";
import { ExitCode, FsyncError } from "../model/mod.ts";

/** The store's file in `home` (Deno KV's SQLite database). */
export function storePathOf(home: string): string {
  return join(home, "index.kv");
}

/** Whether `home` holds fsync state (a store); looks without opening or creating anything. */
export async function hasStore(home: string): Promise<boolean> {
  try {
    await Deno.stat(storePathOf(home));
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    throw e;
  }
}

/** The control endpoint's file in a home: a Unix socket, reachable by this user only, served by a running device. */
export const CONTROL_SOCKET = "control.sock";

/** The mode of every file fsync keeps in a home: its owner reads and writes it, nobody else. */
export const PRIVATE_FILE_MODE = 0o600;
/** The mode of a home: only its owner may enter it. */
const HOME_MODE = 0o700;

/**
 * Makes `home` a private directory of the user running fsync, before anything in it is read or
 * written: it holds the device key, the peers and the invites' public keys. Creates it (0700)
 * when missing. An existing home that other users may enter is made 0700 (rather than refused:
 * nothing kept there is meant for them, and `status` answers its owner only), and every file
 * directly in it 0600, which also covers homes written before files were created private.
 * Another user's home fails here: it cannot be listed (0700) or made private (not its owner).
 * Returns the warning to log when the home was open to others.
 *
 * @throws {FsyncError} (local IO) when the home cannot be created, read or made private.
 */
export async function prepareHome(home: string): Promise<string | undefined> {
  let mode: number;
  try {
    const st = await Deno.stat(home);
    if (!st.isDirectory) throw new FsyncError(`home ${home} is not a directory`, ExitCode.io, { hint: "check --home" });
    mode = st.mode!;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw homeError(`cannot read home ${home}`, e);
    try {
      await Deno.mkdir(home, { recursive: true, mode: HOME_MODE });
      return undefined;
    } catch (e) {
      throw homeError(`cannot create home ${home}`, e);
    }
  }
  try {
    if ((mode & 0o077) !== 0) await Deno.chmod(home, HOME_MODE);
    for await (const entry of Deno.readDir(home)) {
      if (entry.isDirectory || entry.isSymlink) continue; // chmod would follow a symlink out of the home
      const path = join(home, entry.name);
      if (((await Deno.lstat(path)).mode! & 0o077) !== 0) await Deno.chmod(path, PRIVATE_FILE_MODE);
    }
  } catch (e) {
    throw homeError(`cannot use home ${home}`, e);
  }
  if ((mode & 0o077) === 0) return undefined;
  const was = (mode & 0o777).toString(8).padStart(4, "0");
  return `home ${home} was open to other users (mode ${was}): made it 0700 and its files 0600`;
}

/** A failure to use the home as a local IO error; a permission error is most likely another user's home. */
function homeError(what: string, e: unknown): FsyncError {
  if (e instanceof FsyncError) return e;
  const denied = e instanceof Deno.errors.PermissionDenied;
  return new FsyncError(`${what}: ${(e as Error).message}`, ExitCode.io, {
    cause: e,
    hint: denied ? "run fsync as the user who owns the home, or pass --home with a directory of your own" : undefined,
  });
}

/**
 * Creates the file at `path` with mode 0600 when missing, and makes it 0600 when it exists:
 * for files another library creates with its own mode (Deno KV's SQLite database).
 */
export async function ensurePrivateFile(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, mode: PRIVATE_FILE_MODE });
  file.close();
  await Deno.chmod(path, PRIVATE_FILE_MODE);
}
