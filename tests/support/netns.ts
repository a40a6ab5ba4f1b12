/**
 * Two network namespaces joined by a veth pair, made by a test and removed when it is
 * disposed: a small LAN of its own, where processes started with `netns` (see StartOptions)
 * can broadcast without touching the machine's networks.
 */
export class VethPair implements AsyncDisposable {
  /** The namespaces' names. */
  readonly names: readonly [string, string];
  /** The first three octets of the pair's /24 (e.g. "10.77.3"). */
  readonly subnet: string;

  private constructor(names: [string, string], subnet: string) {
    this.names = names;
    this.subnet = subnet;
  }

  /**
   * Makes the namespaces, the veth pair between them with `.1` and `.2` of a random
   * 10.x.y.0/24, and brings both ends and loopback up. Returns why it could not (not root, no
   * `ip`, namespaces not allowed) instead of a pair.
   */
  static async create(): Promise<VethPair | string> {
    const tag = `${Deno.pid.toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
    const names: [string, string] = [`fsync-${tag}-a`, `fsync-${tag}-b`];
    const subnet = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
    const pair = new VethPair(names, subnet);
    const [a, b] = names;
    try {
      await ip("netns", "add", a);
      await ip("netns", "add", b);
      await ip("link", "add", `v${tag}a`, "netns", a, "type", "veth", "peer", "name", `v${tag}b`, "netns", b);
      for (const [ns, end, host] of [[a, `v${tag}a`, 1], [b, `v${tag}b`, 2]] as const) {
        await ip("-n", ns, "addr", "add", `${subnet}.${host}/24`, "dev", end);
        await ip("-n", ns, "link", "set", end, "up");
        await ip("-n", ns, "link", "set", "lo", "up");
      }
      return pair;
    } catch (e) {
      await pair[Symbol.asyncDispose]();
      return `cannot make network namespaces here: ${(e as Error).message}`;
    }
  }

  /** Moves the end in namespace `side` (0 or 1) from `.from` to `.to` of the subnet. */
  async readdress(side: 0 | 1, from: number, to: number): Promise<void> {
    const ns = this.names[side];
    const end = await this.#end(ns);
    await ip("-n", ns, "addr", "del", `${this.subnet}.${from}/24`, "dev", end);
    await ip("-n", ns, "addr", "add", `${this.subnet}.${to}/24`, "dev", end);
  }

  async #end(ns: string): Promise<string> {
    const out = await ip("-n", ns, "-o", "link", "show", "type", "veth");
    const name = /^\d+: ([^@:]+)/.exec(out)?.[1];
    if (!name) throw new Error(`no veth in ${ns}: ${out}`);
    return name;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Deleting a namespace deletes its end of the pair, and so the pair.
    for (const ns of this.names) await ip("netns", "delete", ns).catch(() => {});
  }
}

async function ip(...args: string[]): Promise<string> {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  return new TextDecoder().decode(out.stdout);
}
