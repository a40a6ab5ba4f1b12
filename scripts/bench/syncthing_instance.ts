/**
 * A headless Syncthing process for the benchmark's Syncthing anchor, isolated from anything
 * else on the machine: its own home (config, keys, database) in a directory the caller
 * removes, GUI/REST API on 127.0.0.1 at a free port with an API key set in its config, the
 * sync protocol listening on 127.0.0.1 only, and global and local discovery, relays, NAT
 * traversal, usage and crash reporting and upgrades off. Stopped by its PID.
 */
import { freePort } from "../../tests/support/peer.ts";

/** The subset of /rest/db/status the benchmark reads. */
export interface FolderStatus {
  readonly state: string;
  readonly globalFiles: number;
  readonly localFiles: number;
  readonly localTotalItems: number;
  readonly needTotalItems: number;
  readonly pullErrors: number;
}

/** A folder to add: its ID, path, type (sendonly, receiveonly, ...) and other fields of Syncthing's folder config. */
export interface FolderSettings {
  readonly id: string;
  readonly path: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

/** The options set in each instance's config.xml (element name → value). */
const OPTIONS: Record<string, string> = {
  globalAnnounceEnabled: "false",
  localAnnounceEnabled: "false",
  relaysEnabled: "false",
  natEnabled: "false",
  urAccepted: "-1", // usage reporting declined
  crashReportingEnabled: "false",
  autoUpgradeIntervalH: "0",
  startBrowser: "false",
  setLowPriority: "false", // the same CPU priority as the other tools
  reconnectionIntervalS: "1", // dial the peer again soon when it refused us because it did not know us yet
};

/** Syncthing's version (`v1.19.2` ...), or undefined when it is not installed. */
export async function syncthingVersion(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("syncthing", { args: ["--version"], signal: AbortSignal.timeout(30_000) })
      .output();
    if (!out.success) throw new Error(`syncthing --version failed: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout).match(/^syncthing (\S+)/)?.[1] ?? "(unknown version)";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** A running Syncthing with its own home; disposing stops it by PID (SIGTERM, SIGKILL after 10 s). */
export class SyncthingInstance implements AsyncDisposable {
  /** The end of its output (stdout and stderr), for failure messages. */
  #log = "";
  #exited = false;
  /** The last StateChanged event seen (Syncthing buffers them from the first request for them, made at start). */
  #eventsSeen = 0;

  private constructor(
    readonly deviceId: string,
    readonly listenPort: number,
    private readonly apiPort: number,
    private readonly apiKey: string,
    private readonly child: Deno.ChildProcess,
  ) {
    child.status.then(() => this.#exited = true);
    this.#collect(child.stdout);
    this.#collect(child.stderr);
  }

  get pid(): number {
    return this.child.pid;
  }

  /**
   * Generates keys and config in `home` (which must not exist yet), sets them as described
   * above, starts `syncthing serve` and waits (at most 60 s) until its REST API answers.
   */
  static async start(home: string): Promise<SyncthingInstance> {
    const generated = await new Deno.Command("syncthing", {
      args: ["generate", `--home=${home}`, "--no-default-folder", "--skip-port-probing"],
      signal: AbortSignal.timeout(60_000),
    }).output();
    const said = new TextDecoder().decode(generated.stdout) + new TextDecoder().decode(generated.stderr);
    const deviceId = said.match(/Device ID: (\S+)/)?.[1];
    if (!generated.success || !deviceId) throw new Error(`syncthing generate --home=${home} failed:\n${said}`);
    const [listenPort, apiPort] = [freePort(), freePort()];
    const apiKey = crypto.randomUUID();
    const configPath = `${home}/config.xml`;
    let config = await Deno.readTextFile(configPath);
    const set = (pattern: RegExp, value: string) => {
      if (!pattern.test(config)) throw new Error(`no ${pattern} in ${configPath} (another Syncthing version?)`);
      config = config.replace(pattern, `$1${value}$2`);
    };
    set(/(<gui [^>]*>\s*<address>)[^<]*(<\/address>)/, `127.0.0.1:${apiPort}`);
    set(/(<apikey>)[^<]*(<\/apikey>)/, apiKey);
    set(/(<listenAddress>)[^<]*(<\/listenAddress>)/, `tcp://127.0.0.1:${listenPort}`);
    for (const [name, value] of Object.entries(OPTIONS)) set(new RegExp(`(<${name}>)[^<]*(</${name}>)`), value);
    await Deno.writeTextFile(configPath, config);
    const child = new Deno.Command("syncthing", {
      args: ["serve", `--home=${home}`, "--no-browser", "--no-restart", "--no-upgrade", "--logflags=0"],
      // STMONITORED: no monitor process (the one Syncthing starts by default, even with --no-restart,
      // to restart it); the monitor sets it for the process it starts, so the PID here is the one that syncs.
      env: { STMONITORED: "1", STNORESTART: "1", STNOUPGRADE: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const instance = new SyncthingInstance(deviceId, listenPort, apiPort, apiKey, child);
    try {
      await instance.#poll("answering on its REST API", 60_000, async () => {
        try {
          return (await instance.#get<{ ping: string }>("/rest/system/ping")).ping === "pong";
        } catch (e) {
          if (e instanceof TypeError) return false; // not listening yet
          throw e;
        }
      });
      await instance.#get("/rest/events?events=StateChanged&since=0&timeout=0");
    } catch (e) {
      await instance[Symbol.asyncDispose]();
      throw e;
    }
    return instance;
  }

  /** Trusts `other` and dials it at its listen address. */
  async addDevice(other: SyncthingInstance): Promise<void> {
    const defaults = await this.#get<Record<string, unknown>>("/rest/config/defaults/device");
    await this.#request("PUT", `/rest/config/devices/${other.deviceId}`, {
      ...defaults,
      deviceID: other.deviceId,
      name: `bench-${other.listenPort}`,
      addresses: [`tcp://127.0.0.1:${other.listenPort}`],
    });
  }

  /** Adds a folder shared with `peer` (from Syncthing's folder defaults, overridden by `settings`). */
  async addFolder(settings: FolderSettings, peer: SyncthingInstance): Promise<void> {
    const defaults = await this.#get<Record<string, unknown>>("/rest/config/defaults/folder");
    const devices = [this, peer].map((d) => ({ deviceID: d.deviceId, introducedBy: "", encryptionPassword: "" }));
    await this.#request("PUT", `/rest/config/folders/${settings.id}`, {
      ...defaults,
      label: settings.id,
      devices,
      ...settings,
    });
  }

  /** The folder's status (/rest/db/status). */
  folderStatus(id: string): Promise<FolderStatus> {
    return this.#get<FolderStatus>(`/rest/db/status?folder=${encodeURIComponent(id)}`);
  }

  /**
   * Waits until the folder's status satisfies `done`, asking for it once at first, then each
   * time the folder becomes idle (long-polling /rest/events for StateChanged, so that Syncthing
   * is not asked for its counts many times a second) or 10 s pass without any state change.
   * Fails with `what`, the last status and Syncthing's log when `timeoutMs` pass or it exits.
   */
  async waitFolder(id: string, what: string, timeoutMs: number, done: (s: FolderStatus) => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let status: FolderStatus | undefined;
    try {
      while (!done(status = await this.folderStatus(id))) {
        for (let idle = false; !idle;) {
          const left = Math.ceil((deadline - Date.now()) / 1000);
          if (left <= 0) throw new Error(`not ${what} within ${timeoutMs / 1000} s`);
          const events = await this.#get<{ id: number; data: { folder: string; to: string } }[]>(
            `/rest/events?events=StateChanged&since=${this.#eventsSeen}&timeout=${Math.min(left, 10)}`,
          );
          if (events.length === 0) break; // ask again now and then
          this.#eventsSeen = events.at(-1)!.id;
          idle = events.some((e) => e.data.folder === id && e.data.to === "idle");
        }
      }
    } catch (e) {
      throw new Error(
        `syncthing (pid ${this.pid}${this.#exited ? ", exited" : ""}): ${what}: ${e}\n` +
          `last status of ${id}: ${JSON.stringify(status)}\n${this.#log}`,
      );
    }
  }

  /** Waits (at most 60 s) until this instance is connected to `other`, asking every 100 ms. */
  async waitConnected(other: SyncthingInstance): Promise<void> {
    await this.#poll(`connected to ${other.deviceId}`, 60_000, async () => {
      const { connections } = await this.#get<{ connections: Record<string, { connected: boolean }> }>(
        "/rest/system/connections",
      );
      return connections[other.deviceId]?.connected === true;
    });
  }

  /** Stops it by PID: SIGTERM, then SIGKILL after 10 s. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      Deno.kill(this.pid, "SIGTERM");
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // it ended already
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise((r) => timer = setTimeout(r, 10_000)).then(() => Deno.kill(this.pid, "SIGKILL"));
    await Promise.race([this.child.status, killed]).finally(() => clearTimeout(timer));
    await this.child.status;
  }

  /** Calls `done` every 100 ms until it is true; fails with `what` and Syncthing's log after `timeoutMs` or if it exits. */
  async #poll(what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !await done();) {
      if (this.#exited) {
        throw new Error(`syncthing (pid ${this.pid}) exited before ${what}\n${this.#log}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `syncthing (pid ${this.pid}): not ${what} within ${timeoutMs / 1000} s\n${this.#log}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** GETs `path` from the REST API and returns its JSON (at most 30 s). */
  #get<T>(path: string): Promise<T> {
    return this.#request("GET", path) as Promise<T>;
  }

  /** Sends a request to the REST API (at most 30 s), with `body` as JSON, and returns the JSON answered. */
  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`http://127.0.0.1:${this.apiPort}${path}`, {
      method,
      headers: { "X-API-Key": this.apiKey, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`syncthing ${method} ${path}: ${response.status} ${text.trim()}`);
    return text === "" ? undefined : JSON.parse(text);
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      this.#log = (this.#log + text).slice(-20_000);
    }
  }
}
