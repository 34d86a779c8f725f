import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { admission, countAdmissions, needsProcessor, nextDueAt } from '../../src/core/admission.js';
import { enqueue, newRequestId, readQueue, rewriteEntry } from '../../src/core/queue.js';
import type { SyncRequest } from '../../src/core/request.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const t0 = Date.parse('2026-12-06T10:00:00Z');
const MIN = 60_000;

function request(over: Partial<SyncRequest> = {}): SyncRequest {
  return { id: newRequestId(t0), type: 'smart', caller: 'test', priority: 'normal', reason: '', created_at: new Date(t0).toISOString(), pid: 1, ...over };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
function queueDir(): string {
  const { dir: d, cleanup } = makeTempDir('sc-admission-');
  cleanups.push(cleanup);
  const q = join(d, 'queue');
  mkdirSync(q);
  return q;
}

describe('admission: is a queued request due, deferred or rejected?', () => {
  it('a plain request is due; a rejected one stays rejected whatever its deferral says', () => {
    expect(admission(request(), t0)).toBe('due');
    const rejected = request({ rejected_at: new Date(t0).toISOString(), deferred_until: new Date(t0 + MIN).toISOString() });
    expect(admission(rejected, t0)).toBe('rejected');
    // A processor still has to count it in the stats.
    expect(needsProcessor(rejected, t0)).toBe(true);
  });

  it('a deferred request waits until its time, then is due (the boundary is due)', () => {
    const r = request({ priority: 'low', deferred_until: new Date(t0 + 10 * MIN).toISOString() });
    expect(admission(r, t0)).toBe('deferred');
    expect(needsProcessor(r, t0)).toBe(false);
    expect(admission(r, t0 + 10 * MIN - 1)).toBe('deferred');
    expect(admission(r, t0 + 10 * MIN)).toBe('due');
    expect(needsProcessor(r, t0 + 10 * MIN)).toBe(true);
  });

  it('the marks read back from real spool files give the same answers, and counts add up', async () => {
    const dir = queueDir();
    await enqueue(dir, request({ id: newRequestId(t0), caller: 'a' }));
    await enqueue(dir, request({ id: newRequestId(t0 + 1), caller: 'b', priority: 'low' }));
    await enqueue(dir, request({ id: newRequestId(t0 + 2), caller: 'c', rejected_at: new Date(t0).toISOString() }));
    const entries = await readQueue(dir, null);
    expect(entries).toHaveLength(3);
    // The processor defers the low one the way the rate limit does: by rewriting its spool file.
    const low = entries.find((e) => e.request.caller === 'b')!;
    low.request.deferred_until = new Date(t0 + 30 * MIN).toISOString();
    await rewriteEntry(low);
    const reread = (await readQueue(dir, null)).map((e) => e.request);
    const by = (caller: string) => admission(reread.find((r) => r.caller === caller)!, t0);
    expect([by('a'), by('b'), by('c')]).toEqual(['due', 'deferred', 'rejected']);
    expect(countAdmissions(reread, t0)).toEqual({ due: 1, deferred: 1, rejected: 1 });
    expect(countAdmissions(reread, t0 + 30 * MIN)).toEqual({ due: 2, deferred: 0, rejected: 1 });
    expect(nextDueAt(reread)).toBe(t0 + 30 * MIN);
  });

  it('nextDueAt is Infinity when nothing is deferred, and the earliest deferral otherwise', () => {
    expect(nextDueAt([request(), request({ rejected_at: new Date(t0).toISOString() })])).toBe(Infinity);
    const later = request({ deferred_until: new Date(t0 + 20 * MIN).toISOString() });
    const sooner = request({ deferred_until: new Date(t0 + 5 * MIN).toISOString() });
    expect(nextDueAt([later, request(), sooner])).toBe(t0 + 5 * MIN);
  });
});
