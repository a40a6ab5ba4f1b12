/**
 * The rights of the fsync process and of its commands (see `sandbox.ts`): one list, used by
 * the sandbox, the systemd unit, the test harness and, spelled out, deno.json's tasks.
 */

/**
 * The environment variables fsync and its libraries read: the home and config locations,
 * colour switches, the user for systemd units, grpc-js's tracing and proxy settings, and
 * Deno's extra TLS roots (with them the data path is not used: `dataPathPinned`).
 */
export const ENV: readonly string[] = [
  "HOME",
  "USER",
  "SUDO_USER",
  "XDG_STATE_HOME",
  "XDG_CONFIG_HOME",
  "NO_COLOR",
  "FORCE_COLOR",
  "CLICOLOR_FORCE",
  "TERM",
  "BUF_BIGINT_DISABLE",
  "GRPC_*",
  "grpc_proxy",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "no_grpc_proxy",
  "DENO_TLS_CA_STORE",
  "DENO_CERT",
];

/** The system facts fsync reads: the device name, the machine's addresses (for invites), free disk space (before a pull). */
export const SYS: readonly string[] = ["hostname", "networkInterfaces", "statfs"];

/**
 * The `deno run` (and `deno compile`) flags of the fsync process: what the first stage may
 * hand on to a command, no more (no subprocesses, no FFI), the unstable APIs it uses, a
 * small V8 young generation (measured: about 70 MiB less at 100,000 files), and an old-space
 * limit under V8's own (4 GiB here), which makes V8 grow the old generation to less than twice
 * what survived the last collection instead of up to four times (a joiner of 20,000 small
 * files: 163 MiB peak, 153-160 with lower limits, 229-247 without; 3-8% more CPU), and a fixed
 * growth of 60% over what survived (a joiner of 10,000 small files: 149-161 MiB against
 * 178-194 at the same CPU; 20% or 35% cost 5-8% more CPU). scripts/fsync spells the same
 * flags (a test compares them); `deno task compile` and the service unit take them from here.
 */
export const DENO_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  `--allow-env=${ENV.join(",")}`,
  `--allow-sys=${SYS.join(",")}`,
  "--unstable-kv",
  "--unstable-worker-options",
  "--v8-flags=--max-semi-space-size=4,--max-old-space-size=1536,--heap-growing-percent=60",
];
