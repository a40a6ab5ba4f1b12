/** One block (or a run of consecutive blocks) of a file, asked of a peer: where it is and the hash of its first block. */
export interface BlockWant {
  readonly path: string;
  readonly offset: number;
  readonly size: number;
  readonly hash: Uint8Array;
}
