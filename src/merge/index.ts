/** The merge resolver of DESIGN.md section 13: pure functions over blobs, no git, no I/O. */
export { strategyFor } from './strategy-for.js';
export { mergeFile } from './merge-file.js';
export type { MergeInput, MergeResult } from './types.js';
