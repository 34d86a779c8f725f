// Uncontended lock acquire + release, in-process (target: median under 2 ms).
// Baseline: a bare mkdir + rmdir of the same directory.
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { median, ROOT, round } from '../lib.mjs';
import { makeTempDir } from '../../test/helpers/sandbox.mjs';

export const name = 'lock';

export async function run({ iterations = 300 } = {}) {
  // The lock in-process, from the build's bundle of internals (scripts/internals.ts).
  const { acquireLock, statePaths, silentLogger } = await import(join(ROOT, 'dist', 'internal', 'internals.js'));
  const { dir: root, cleanup } = makeTempDir('sc-bench-lock-');
  const paths = statePaths(root);
  mkdirSync(paths.dir, { recursive: true });
  const lockMs = [];
  const mkdirMs = [];
  try {
    for (let i = 0; i < iterations; i++) {
      let t = performance.now();
      const lock = await acquireLock({ paths, logger: silentLogger, staleMs: 10_000 }, { caller: 'bench', timeoutMs: 1000 });
      await lock.release();
      lockMs.push(performance.now() - t);
      t = performance.now();
      mkdirSync(paths.lockDir);
      rmdirSync(paths.lockDir);
      mkdirMs.push(performance.now() - t);
    }
  } finally {
    cleanup();
  }
  const m = median(lockMs);
  return {
    figure: 'lock acquire+release (uncontended, in-process)',
    median_ms: round(m, 3),
    baseline: 'bare mkdir+rmdir',
    baseline_median_ms: round(median(mkdirMs), 3),
    target: 'median < 2 ms',
    pass: m < 2,
    iterations,
  };
}
