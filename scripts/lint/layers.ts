/**
 * A `deno lint` plugin that keeps the layers of STYLE.md: cli (cli.ts, lib/cli) → mod → lib/node →
 * {plan, scan, watch, store, transfer, net} → lib/fs → lib/model (lib/fs, the file-system seam,
 * is open to every layer above it but plan, which uses no file system). It rejects upward and sideways
 * imports, reaching into another folder other than through its mod.ts, lib/gen outside
 * lib/net, any use of `Deno` in lib/model and lib/plan (they must stay pure), and ordering
 * versions outside lib/plan (only lib/plan decides what wins). The CLI's first stage has a rule of its own
 * (FIRST_STAGE).
 */
import { fileURLToPath, pathToFileURL } from "node:url";

const LEAVES = new Set(["plan", "scan", "watch", "store", "transfer", "net"]);

/** The lib folder a file belongs to ("model", "net", ...), or undefined outside lib/. */
function layerOf(path: string): string | undefined {
  return path.match(/\/lib\/([^/]+)\//)?.[1];
}

/** The repository's root, where cli.ts and mod.ts are. */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The CLI's first stage (`lib/cli/sandbox.ts`) runs before every command, outside the command's
 * sandbox: it parses the command line and reads which folders the home syncs. Loading the whole
 * library for that cost every command about 95 ms and 18 MiB more (measured), so these files,
 * relative to the root, import only lib/model, lib/store and each other (types as their layer
 * allows); the commands are loaded with import() when one runs.
 */
export const FIRST_STAGE: ReadonlySet<string> = new Set([
  "cli.ts",
  "lib/cli/bug_trap.ts",
  "lib/cli/config.ts",
  "lib/cli/env.ts",
  "lib/cli/grants.ts",
  "lib/cli/parsers.ts",
  "lib/cli/permissions.ts",
  "lib/cli/program.ts",
  "lib/cli/sandbox.ts",
  "lib/cli/service.ts",
]);
const FIRST_STAGE_MAY_IMPORT = new Set([...FIRST_STAGE, "lib/model/mod.ts", "lib/store/mod.ts"]);
/** The packages the first stage may load: the parser and the configuration's reader (and Node's built-ins). */
const FIRST_STAGE_PACKAGES = new Set(["commander", "smol-toml"]);

/** Why `from` may not import the package `spec` (not a relative path), or undefined when it may. */
export function packageViolation(from: string, spec: string, root = ROOT): string | undefined {
  if (!from.startsWith(root) || !FIRST_STAGE.has(from.slice(root.length))) return undefined;
  if (spec.startsWith("node:") || FIRST_STAGE_PACKAGES.has(spec)) return undefined;
  return `the CLI's first stage loads no package but ${[...FIRST_STAGE_PACKAGES].join(" and ")} (and node: built-ins)`;
}

/**
 * Why `from` may not import `to` (both absolute paths, `root` the repository's), or undefined
 * when it may. A first-stage file's value imports follow FIRST_STAGE's rule instead of its layer's.
 */
export function importViolation(
  from: string,
  to: string,
  options: { root?: string; typeOnly?: boolean } = {},
): string | undefined {
  const root = options.root ?? ROOT;
  if (!options.typeOnly && from.startsWith(root) && FIRST_STAGE.has(from.slice(root.length))) {
    if (to.startsWith(root) && FIRST_STAGE_MAY_IMPORT.has(to.slice(root.length))) return undefined;
    return "the CLI's first stage imports only lib/model, lib/store and first-stage lib/cli files " +
      "(load the rest with import() when a command runs, or import only types)";
  }
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

/** Why `file` may not import (or re-export) `spec`, a relative path or a package, or undefined when it may. */
function sourceViolation(file: string, spec: string, typeOnly: boolean): string | undefined {
  if (!spec.startsWith(".")) return typeOnly ? undefined : packageViolation(file, spec);
  return importViolation(file, fileURLToPath(new URL(spec, pathToFileURL(file))), { typeOnly });
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
            const why = sourceViolation(file, node.source.value, node.importKind === "type");
            if (why) context.report({ node, message: why });
          },
          ExportNamedDeclaration(node) {
            const why = node.source && sourceViolation(file, node.source.value, node.exportKind === "type");
            if (why) context.report({ node, message: why });
          },
          ExportAllDeclaration(node) {
            const why = sourceViolation(file, node.source.value, node.exportKind === "type");
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
