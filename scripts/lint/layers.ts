/**
 * A `deno lint` plugin that keeps the layers of STYLE.md: cli (cli.ts, lib/cli) → mod → lib/node →
 * {plan, scan, watch, store, transfer, net} → lib/fs → lib/model (lib/fs, the file-system seam,
 * is open to every layer above it but plan, which uses no file system). It rejects upward and sideways
 * imports, reaching into another folder other than through its mod.ts, lib/gen outside
 * lib/net, any use of `Deno` in lib/model and lib/plan (they must stay pure), and ordering
 * versions outside lib/plan (only lib/plan decides what wins).
 */
const LEAVES = new Set(["plan", "scan", "watch", "store", "transfer", "net"]);

/** The lib folder a file belongs to ("model", "net", ...), or undefined outside lib/. */
function layerOf(path: string): string | undefined {
  return path.match(/\/lib\/([^/]+)\//)?.[1];
}

/** Why `from` may not import `to` (both absolute paths), or undefined when it may. */
export function importViolation(from: string, to: string): string | undefined {
  const source = layerOf(from);
  const target = layerOf(to);
  if (!source || !target || source === target) return undefined;
  if (source === "cli") return "lib/cli uses fsync through the root mod.ts, as any library user would";
  if (target === "cli") return "only cli.ts may import lib/cli";
  if (target === "gen") return source === "net" ? undefined : "only lib/net may import generated code (lib/gen)";
  if (!to.endsWith(`/lib/${target}/mod.ts`)) return `import lib/${target} through its mod.ts`;
  if (source === "node") return undefined;
  if (source === "model") return "lib/model imports nothing outside itself";
  if (source === "fs" && target !== "model") return "lib/fs imports only lib/model";
  if (source === "plan" && target === "fs") return "lib/plan is pure: no file system";
  if (LEAVES.has(source) && target !== "model" && target !== "fs") {
    return `lib/${source} must not import lib/${target}: pass data through lib/node, or declare a small interface`;
  }
  return undefined;
}

/** The primitives of sync decisions: only lib/plan (and lib/model, which defines them) may use them. */
const DECISION_PRIMITIVES = new Set(["compareVersions"]);

/** Why `file` may not import the name `name`, or undefined when it may. */
export function decisionViolation(file: string, name: string): string | undefined {
  if (!DECISION_PRIMITIVES.has(name) || file.endsWith("_test.ts")) return undefined;
  const layer = layerOf(file);
  if (layer === undefined || layer === "plan" || layer === "model") return undefined;
  return `only lib/plan decides: ask it (a function of lib/plan) instead of using ${name} in lib/${layer}`;
}

const plugin: Deno.lint.Plugin = {
  name: "fsync",
  rules: {
    layers: {
      create(context) {
        const file = context.filename;
        const pure = ["model", "plan"].includes(layerOf(file) ?? "") && !file.endsWith("_test.ts");
        return {
          ImportDeclaration(node) {
            const spec = node.source.value;
            if (!spec.startsWith(".")) return;
            const why = importViolation(file, new URL(spec, `file://${file}`).pathname);
            if (why) context.report({ node, message: why });
          },
          ImportSpecifier(node) {
            const imported = node.imported.type === "Identifier" ? node.imported.name : node.imported.value;
            const why = decisionViolation(file, imported);
            if (why) context.report({ node, message: why });
          },
          Identifier(node) {
            if (pure && node.name === "Deno") {
              context.report({ node, message: "lib/model and lib/plan are pure: no Deno APIs (do IO at the edges)" });
            }
          },
        };
      },
    },
  },
};

export default plugin;
