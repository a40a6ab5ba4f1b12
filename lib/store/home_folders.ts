import { hasStore, storePathOf } from "./home.ts";
import { Store } from "./store.ts";

/**
 * The paths of the folders `home` syncs, or none when the home holds no fsync state yet.
 * Reads the store without creating anything (usable while a device runs on the home).
 */
export async function readFolderPaths(home: string): Promise<string[]> {
  if (!await hasStore(home)) return [];
  const store = await Store.open(storePathOf(home));
  try {
    return (await store.listFolders()).map((f) => f.path);
  } finally {
    store.close();
  }
}
