import { resolve } from "node:path";
import { ExitCode, type FolderMode, FsyncError } from "../model/mod.ts";
import { type DeletionThresholds, folderModeOf } from "../plan/mod.ts";
import type { FolderRecord, Store } from "../store/mod.ts";
import type { FolderAction, FolderActionResult } from "./control.ts";
import { FolderHost, type FolderHostContext } from "./folder_host.ts";
import type { FolderProblem, FolderRunner } from "./folder_runner.ts";
import { type FolderPolicy, policyFromDisk } from "./needs.ts";
import { randomId } from "./peer_admission.ts";

/** How the folders of a device are set up, besides what every folder host needs. */
export interface FoldersOptions {
  /** Ignore common OS junk besides each folder's `.fsyncignore` (default true). */
  readonly ignoreDefaults?: boolean;
  /** Modes by folder path, overriding those stored with the folders. */
  readonly folderModes?: ReadonlyMap<string, FolderMode>;
  /** When a scan's deletions wait for confirmation, by folder path. */
  readonly deletionThresholds?: ReadonlyMap<string, DeletionThresholds>;
}

/**
 * The folders of a running device: each one's host (runner, watch, scans), keyed by folder
 * ID, and what is asked of them by ID, label or path. Adding a folder stores and starts it.
 */
export class Folders {
  #hosts = new Map<string, FolderHost>();
  #runners = new Map<string, FolderRunner>();
  #store: Store;
  #ctx: FolderHostContext;
  #options: FoldersOptions;

  constructor(ctx: FolderHostContext, options: FoldersOptions) {
    this.#store = ctx.store;
    this.#ctx = ctx;
    this.#options = options;
  }

  /** Each folder's runner by folder ID. */
  get runners(): ReadonlyMap<string, FolderRunner> {
    return this.#runners;
  }

  /** The host of a folder, if it runs here. */
  host(folderId: string): FolderHost | undefined {
    return this.#hosts.get(folderId);
  }

  /** Starts a stored folder (scanning it). @throws {FsyncError} when the folder is gone. */
  async start(folder: FolderRecord): Promise<void> {
    const mode = folderModeOf(folder, this.#options.folderModes);
    const host = new FolderHost(folder, this.#ctx, mode, this.#options.deletionThresholds?.get(folder.path));
    this.#hosts.set(folder.id, host);
    this.#runners.set(folder.id, host.runner);
    await host.start();
  }

  /** The folder replicated at `path`, if any. */
  async at(path: string): Promise<FolderRecord | undefined> {
    const abs = resolve(path);
    return (await this.#store.listFolders()).find((f) => f.path === abs);
  }

  /**
   * Adds the directory at `path` as a folder (or returns the folder already there) and
   * scans it.
   *
   * @throws {FsyncError} (local IO) when it is missing, not a directory or unreadable;
   * (usage) when it is inside another folder or holds one (each would scan, and clean up
   * after, the other's files).
   */
  async add(path: string, label: string, folderId: string = randomId()): Promise<FolderRecord> {
    const abs = resolve(path);
    await checkReadableDirectory(abs);
    const folders = await this.#store.listFolders();
    const existing = folders.find((f) => f.path === abs);
    if (existing) return existing;
    const inside = (a: string, b: string) => a.startsWith(b.endsWith("/") ? b : `${b}/`);
    const other = folders.find((f) => inside(abs, f.path) || inside(f.path, abs));
    if (other) {
      const how = inside(abs, other.path) ? "is inside" : "holds";
      throw new FsyncError(`${abs} ${how} the folder "${other.label}" at ${other.path}`, ExitCode.usage, {
        hint: "a folder cannot hold another; choose a directory outside it",
      });
    }
    const folder = { id: folderId, label, path: abs, indexId: randomId() };
    await this.#store.putFolder(folder);
    await this.start(folder);
    return folder;
  }

  /** Sets a folder's mode, now and for the next starts. */
  async setMode(folderId: string, mode: FolderMode): Promise<void> {
    const runner = this.#runners.get(folderId);
    if (!runner) throw new Error(`no folder ${folderId}`);
    await this.#store.putFolder({ ...await this.#store.getFolder(folderId) ?? runner.folder, mode });
    runner.setMode(mode);
  }

  /** Turns a folder's introductions on or off (kept in its record, read at each ClusterConfig). */
  async setIntroduce(folderId: string, on: boolean): Promise<void> {
    const folder = await this.#store.getFolder(folderId);
    if (!folder) throw new Error(`no folder ${folderId}`);
    const { introduce: _, ...rest } = folder;
    await this.#store.putFolder(on ? rest : { ...rest, introduce: false });
  }

  /** Number and total size of the files in a folder's local index. */
  async summary(folderId: string): Promise<{ files: number; bytes: number }> {
    const { files, bytes } = await this.#store.localSummary(folderId);
    return { files, bytes };
  }

  /** The mode and ignore rules a folder pulls by (read from disk while it is being added). */
  policyOf(folder: FolderRecord): FolderPolicy {
    const runner = this.#runners.get(folder.id);
    return runner
      ? { mode: runner.mode, decider: runner.decider }
      : policyFromDisk(folder, this.#options.ignoreDefaults ?? true, this.#options.folderModes);
  }

  /**
   * Rescans a folder (by ID, or label when no folder has that ID), confirming the big
   * deletion it holds or taking its root as it is, even empty.
   *
   * @throws {FsyncError} (usage) when no folder has that ID or label.
   */
  async act(folder: string, action: FolderAction): Promise<FolderActionResult> {
    const runners = [...this.#runners.values()];
    const runner = this.#runners.get(folder) ?? runners.find((r) => r.folder.label === folder);
    if (!runner) {
      const known = runners.map((r) => `${r.folder.id} (${r.folder.label})`).join(", ") || "none";
      throw new FsyncError(`no folder ${JSON.stringify(folder)} in this home`, ExitCode.usage, {
        hint: `its folders: ${known}`,
      });
    }
    const changes = action === "confirm-deletes"
      ? await runner.confirmDeletes()
      : action === "accept-empty"
      ? await runner.acceptEmpty()
      : await runner.scan();
    const { id, label } = runner.folder;
    return { id, label, changes, problem: runner.problem?.message ?? null };
  }

  /** Folders that do not sync as usual: stopped (root unmounted or replaced) or holding a big deletion. */
  problems(): (FolderProblem & { readonly folderId: string; readonly label: string })[] {
    return [...this.#runners.values()].flatMap((r) => {
      const problem = r.problem;
      return problem ? [{ ...problem, folderId: r.folder.id, label: r.folder.label }] : [];
    });
  }

  /** Stops every folder's watch and timers. */
  close(): void {
    for (const host of this.#hosts.values()) host.close();
  }
}

/**
 * @throws {FsyncError} (local IO) when `path` is missing, not a directory or unreadable.
 */
async function checkReadableDirectory(path: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new FsyncError(`folder ${path} does not exist`, ExitCode.io);
    throw new FsyncError(`cannot access folder ${path}: ${(e as Error).message}`, ExitCode.io, { cause: e });
  }
  if (!st.isDirectory) throw new FsyncError(`${path} is not a directory`, ExitCode.io);
  try {
    for await (const _ of Deno.readDir(path)) break;
  } catch (e) {
    throw new FsyncError(`cannot read folder ${path}: ${(e as Error).message}`, ExitCode.io, { cause: e });
  }
}
