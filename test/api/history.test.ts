import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendHistory, type HistoryRecord, readHistory } from '../../src/core/history.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function rec(n: number): HistoryRecord {
  const t = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  return {
    op: `op-${n}`,
    type: 'smart',
    priority: 'normal',
    callers: ['test'],
    requests: 1,
    result: 'ok',
    message: '',
    started_at: t,
    finished_at: t,
    duration_ms: 1,
    steps: [],
    head_before: null,
    head_after: null,
  };
}

describe('history.jsonl', () => {
  it('keeps the newest records, trimmed by an atomic rewrite, and reads newest first past a torn line', async () => {
    const { dir, cleanup } = makeTempDir('sc-history-');
    cleanups.push(cleanup);
    const file = join(dir, 'history.jsonl');
    for (let i = 1; i <= 25; i++) await appendHistory(file, rec(i), 10, 0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    // Trimmed to 10 when it passed 11; appended since.
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(JSON.parse(lines.at(-1)!).op).toBe('op-25');
    expect(readdirSync(dir)).toEqual(['history.jsonl']); // no temp file left
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"op": "torn`);
    const newest = await readHistory(file, 3);
    expect(newest.map((r) => r.op)).toEqual(['op-25', 'op-24', 'op-23']);
    expect(await readHistory(join(dir, 'absent.jsonl'), 5)).toEqual([]);
  });
});
