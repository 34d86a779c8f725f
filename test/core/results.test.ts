/**
 * Result files expire after an hour. Pruning runs before every sync, so it judges by
 * the creation time in the request id and stats only files that may be old.
 */
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pruneResults } from '../../src/core/results.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const HOUR = 3_600_000;
let dir: string;
let cleanup: () => void;
afterEach(() => cleanup());

function result(createdMs: number, mtimeMs: number): string {
  const name = `${String(createdMs).padStart(13, '0')}-42-abcdef01.json`;
  const file = join(dir, name);
  writeFileSync(file, '{}\n');
  utimesSync(file, mtimeMs / 1000, mtimeMs / 1000);
  return file;
}

describe('pruneResults', () => {
  it('removes results older than the limit and keeps young ones, including a late result of an old request', async () => {
    ({ dir, cleanup } = makeTempDir('sc-results-'));
    const now = Date.now();
    const expired = result(now - 3 * HOUR, now - 2 * HOUR);
    const young = result(now - 60_000, now - 30_000);
    // A `low` request deferred for most of an hour: made long ago, answered just now.
    const lateAnswer = result(now - 2 * HOUR, now - 1_000);
    const foreign = join(dir, 'not-a-request.json');
    writeFileSync(foreign, '{}\n');
    utimesSync(foreign, (now - 2 * HOUR) / 1000, (now - 2 * HOUR) / 1000);
    await pruneResults(dir, HOUR, now);
    expect(existsSync(expired)).toBe(false);
    expect(existsSync(foreign)).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(existsSync(lateAnswer)).toBe(true);
  });

  it('does nothing when the directory is missing', async () => {
    ({ dir, cleanup } = makeTempDir('sc-results-'));
    await expect(pruneResults(join(dir, 'missing'), HOUR)).resolves.toBeUndefined();
  });
});
