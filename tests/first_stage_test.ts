/**
 * The CLI's first stage (lib/cli/sandbox.ts) parses the command line and reads the home's
 * folders before every command; scripts/lint/layers.ts keeps its own imports to lib/model,
 * lib/store and first-stage files. This checks what those load in turn: the static module graph
 * of cli.ts, as Deno reports it, holds none of the device, the network or generated code, which
 * are reached through the import() of the commands.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = new URL("../", import.meta.url).href;
const CLI = fileURLToPath(new URL("cli.ts", ROOT));
const CONFIG = fileURLToPath(new URL("deno.json", ROOT));

interface Dependency {
  readonly code?: { readonly specifier: string };
  readonly isDynamic?: boolean;
}
interface ModuleInfo {
  readonly specifier: string;
  readonly dependencies?: readonly Dependency[];
}

/** The modules `deno info` finds from cli.ts, by specifier. */
async function moduleGraph(): Promise<Map<string, ModuleInfo>> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", `--config=${CONFIG}`, CLI] }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const modules = (JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: ModuleInfo[] }).modules;
  return new Map(modules.map((m) => [m.specifier, m]));
}

/** Specifiers reachable from `start`, through static imports only, or through any import. */
function reachable(graph: Map<string, ModuleInfo>, start: string, dynamicToo: boolean): Set<string> {
  const seen = new Set<string>();
  const pending = [start];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const d of graph.get(specifier)?.dependencies ?? []) {
      if (d.code && (dynamicToo || !d.isDynamic)) pending.push(d.code.specifier);
    }
  }
  return seen;
}

/**
 * What the first stage must not load: the library's root, its device, network, scanning and
 * pulling, and any package but the parser and the configuration's reader.
 */
function isHeavy(specifier: string): boolean {
  if (specifier === `${ROOT}mod.ts`) return true;
  if (specifier.startsWith("npm:")) return !/^npm:\/?(commander|smol-toml)@/.test(specifier);
  return /^lib\/(node|net|gen|scan|transfer|plan|watch)\//.test(specifier.slice(ROOT.length));
}

Deno.test("the CLI's first stage loads neither the device, the network, generated code nor packages but its parser and TOML reader", async () => {
  const graph = await moduleGraph();
  const cli = new URL("cli.ts", ROOT).href;
  const loaded = reachable(graph, cli, false);
  assert.ok(loaded.has(`${ROOT}lib/cli/grants.ts`), "the graph is cli.ts's");
  assert.equal([...loaded].filter(isHeavy).join(", "), "");
  // The commands are reached, through import(): the check sees the whole graph.
  const all = reachable(graph, cli, true);
  assert.ok(all.has(`${ROOT}lib/node/device.ts`) && all.has(`${ROOT}mod.ts`), "the commands load the library");
});
