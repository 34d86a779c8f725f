/**
 * The few modules the bench and the lock tests run in-process (the lock, the merge
 * resolver), bundled by scripts/build-bins.mjs into dist/internal/internals.js. The
 * package ships only the bins; this bundle exists so that plain node scripts (the
 * bench figures, test/fixtures/lock-holder.mjs) need neither a TypeScript loader nor a
 * compiled copy of the whole source tree.
 */
export { acquireLock } from '../src/core/lock.js';
export { statePaths } from '../src/git/workspace.js';
export { silentLogger } from '../src/shared/log.js';
export { mergeFile, strategyFor } from '../src/merge/index.js';
export { DEFAULT_MERGE_RULES } from '../src/shared/config.js';
