/**
 * What a device does with a folder, as Syncthing offers: send and receive changes (the
 * default), only send its own (peers' changes are not applied), or only receive peers'
 * (local changes are not sent, and a peer's newer version replaces them, kept as a conflict copy).
 */
export const FOLDER_MODES = ["send-receive", "send-only", "receive-only"] as const;

/** One of {@linkcode FOLDER_MODES}. */
export type FolderMode = typeof FOLDER_MODES[number];
