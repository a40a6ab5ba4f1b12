import { stopRequested } from "./bug_trap.ts";

/** Resolves at SIGINT or SIGTERM with the signal's name, or after a bug (see `bug_trap.ts`). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => resolve(sig));
    stopRequested().then(() => resolve("internal error"));
  });
}

/** Asks a yes/no question on the terminal without blocking the event loop. */
export async function askYesNo(question: string): Promise<boolean> {
  await Deno.stderr.write(new TextEncoder().encode(`${question} [y/N] `));
  const reader = Deno.stdin.readable.getReader();
  try {
    let line = "";
    const decoder = new TextDecoder();
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      line += decoder.decode(value);
    }
    return /^y(es)?$/i.test(line.trim());
  } finally {
    reader.releaseLock();
  }
}
