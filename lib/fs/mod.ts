/**
 * @module
 * The file-system seam: the calls the scanner and the puller make, the real implementation
 * through Deno, and the read-until-full and write-all loops every caller needs.
 */
export * from "./file_system.ts";
