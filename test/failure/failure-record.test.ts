/** The failure signature and the daemon's backoff (pure). */
import { describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS, backoffFor, bypassesBackoff, failureSignature, recordFailure } from '../../src/shared/failure-record.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const cfg = { pull_interval_s: 300 };

describe('failure record', () => {
  it('the same failure in another op or commit has the same signature; another failure does not', () => {
    const a = failureSignature('EHOOK', 'pre-commit hook failed in op 20260101-000000-abcdef at 1234567 (exit 1)');
    const b = failureSignature('EHOOK', 'pre-commit hook failed in op 20260102-111111-123456 at 89abcde (exit 1)');
    expect(a).toBe(b);
    expect(failureSignature('EHOOK', 'commit-msg hook failed')).not.toBe(a);
    expect(failureSignature('ESIGN', 'pre-commit hook failed in op 20260101-000000-abcdef at 1234567 (exit 1)')).not.toBe(a);
  });

  it('counts repeats, resets on a different failure, and knows what is permanent', () => {
    const one = recordFailure(null, { code: 'EHOOK', message: 'hook said no', retryable: false }, T0);
    const two = recordFailure(one, { code: 'EHOOK', message: 'hook said no', retryable: false }, T0 + 1000);
    expect(two).toMatchObject({ count: 2, permanent: true, first_at: one.first_at });
    expect(recordFailure(two, { code: 'EGIT', message: 'other', retryable: false }, T0 + 2000)).toMatchObject({ count: 1, permanent: false });
    expect(recordFailure(null, { code: 'ENETWORK', message: 'down', retryable: true }, T0).permanent).toBe(false);
  });

  it('backs off exponentially up to pull_interval_s; a transient failure only once it repeats', () => {
    let rec = recordFailure(null, { code: 'ESIGN', message: 'no key', retryable: false }, T0);
    expect(backoffFor(rec, cfg, T0)?.until).toBe(new Date(T0 + BACKOFF_BASE_MS).toISOString());
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const b = backoffFor(rec, cfg, rec.last_at ? Date.parse(rec.last_at) : T0)!;
      delays.push(Date.parse(b.until) - Date.parse(rec.last_at));
      rec = recordFailure(rec, { code: 'ESIGN', message: 'no key', retryable: false }, Date.parse(b.until));
    }
    expect(delays).toEqual([15_000, 30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
    expect(backoffFor(rec, cfg, Date.parse(rec.last_at) + 300_001)).toBeNull();
    const once = recordFailure(null, { code: 'EGIT', message: 'x', retryable: false }, T0);
    expect(backoffFor(once, cfg, T0)).toBeNull();
    expect(backoffFor(recordFailure(once, { code: 'EGIT', message: 'x', retryable: false }, T0), cfg, T0)).not.toBeNull();
  });

  it('manual and critical requests never wait', () => {
    expect(bypassesBackoff({ type: 'manual', priority: 'high' })).toBe(true);
    expect(bypassesBackoff({ type: 'smart', priority: 'critical' })).toBe(true);
    expect(bypassesBackoff({ type: 'intelligent-auto', priority: 'low' })).toBe(false);
  });
});
