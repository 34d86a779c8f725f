// Uncontended lock acquire + release, in-process (target: median under 2 ms).
// Baseline: a bare mkdir + rmdir of the same directory.
import { mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, ROOT, round } from '../lib.mjs';

export const name = 'lock';

export async function run({ iterations = 300 } = {}) {
  // The lock in-process, from the build's bundle of internals (scripts/internals.ts).
  const { acquireLock, statePaths, silentLogger } = await import(join(ROOT, 'dist', 'internal', 'internals.js'));
  const root = mkdtempSync(join(tmpdir(), 'sc-bench-lock-'));
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
    rmSync(root, { recursive: true, force: true });
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
