import { describe, expect, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/shared/config.js';
import { currentWindow, decide, rateLimitView, recordSync } from '../../src/core/rate-limit.js';

const HOUR = 3_600_000;
const t0 = Date.parse('2026-11-25T10:17:00Z');
const cfg = (over: Partial<Config> = {}): Config => ({ ...defaultConfig(), max_syncs_per_hour: 2, burst_capacity: 1, ...over });
const used = (n: number, start = t0) => ({ window_start: new Date(start).toISOString(), used: n });

describe('rate limit (invariant 6)', () => {
  it('auto window: resets_at is null before the first sync, starts at the first counted sync', () => {
    expect(rateLimitView(cfg(), { window_start: null, used: 0 }, t0).resets_at).toBeNull();
    const after = recordSync(cfg(), { window_start: null, used: 0 }, t0);
    expect(after).toEqual(used(1));
    expect(rateLimitView(cfg(), after, t0 + 1000).resets_at).toBe(new Date(t0 + HOUR).toISOString());
  });

  it('under the limit everything passes', () => {
    for (const p of ['low', 'normal', 'high', 'critical'] as const) expect(decide(cfg(), used(1), p, t0 + 1).allowed).toBe(true);
  });

  it('over the limit: normal rejected with the reset time, low deferred, high uses the burst, critical always passes', () => {
    const full = used(2);
    expect(decide(cfg(), full, 'normal', t0 + 1)).toEqual({ allowed: false, action: 'reject', resetsAt: new Date(t0 + HOUR).toISOString(), used: 2, limit: 2 });
    expect(decide(cfg(), full, 'low', t0 + 1)).toMatchObject({ allowed: false, action: 'defer' });
    expect(decide(cfg(), full, 'high', t0 + 1)).toEqual({ allowed: true, via: 'burst' });
    expect(decide(cfg(), used(3), 'high', t0 + 1)).toMatchObject({ allowed: false, action: 'reject' });
    expect(decide(cfg(), used(50), 'critical', t0 + 1)).toEqual({ allowed: true, via: 'critical' });
  });

  it('the window expires after an hour', () => {
    expect(decide(cfg(), used(2), 'normal', t0 + HOUR).allowed).toBe(true);
    expect(currentWindow(cfg(), used(2), t0 + HOUR)).toEqual({ windowStart: null, used: 0, resetsAt: null });
  });

  it('a window start in the future (clock went back) never extends past an hour from now', () => {
    const w = currentWindow(cfg(), used(2, t0 + 5 * HOUR), t0);
    expect(w.resetsAt).toBe(t0 + HOUR);
  });

  it('rate_limiting_enabled=false lets everything through', () => {
    expect(decide(cfg({ rate_limiting_enabled: false }), used(99), 'normal', t0)).toEqual({ allowed: true, via: 'disabled' });
  });

  it('fixed "HH:MM" windows start at that minute of every hour', () => {
    const c = cfg({ hour_reset_time: '00:30' });
    const w = currentWindow(c, { window_start: null, used: 0 }, Date.parse('2026-11-25T10:17:00'));
    expect(new Date(w.windowStart!).getMinutes()).toBe(30);
    expect(w.resetsAt! - w.windowStart!).toBe(HOUR);
    expect(w.windowStart!).toBeLessThanOrEqual(Date.parse('2026-11-25T10:17:00'));
    // A count from the previous window does not carry over.
    const prev = recordSync(c, { window_start: null, used: 0 }, Date.parse('2026-11-25T09:40:00'));
    expect(currentWindow(c, prev, Date.parse('2026-11-25T10:31:00')).used).toBe(0);
    expect(currentWindow(c, prev, Date.parse('2026-11-25T10:29:00')).used).toBe(1);
  });
});
