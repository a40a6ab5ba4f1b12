/** `bytes` with `insert` put in, and `remove` bytes taken out, at offset `at`. */
export function spliced(bytes: Uint8Array, at: number, insert: Uint8Array, remove = 0): Uint8Array {
  const out = new Uint8Array(bytes.length + insert.length - remove);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

/**
 * Saves `edit` of `path`'s content as editors do: written whole to `staging` (outside the
 * synced folder), then renamed over `path`.
 */
export async function saveEdited(
  staging: string,
  path: string,
  edit: (old: Uint8Array) => Uint8Array,
): Promise<void> {
  await Deno.writeFile(staging, edit(await Deno.readFile(path)));
  await Deno.rename(staging, path);
}
