/**
 * The hourly rate limit (invariant 6). Pure: takes the persisted window and a clock,
 * returns a decision; the coordinator persists the result under the lock.
 *
 * `hour_reset_time: "auto"`: the window starts at the first counted sync and lasts an
 * hour; `resets_at` is null before it. `"HH:MM"`: fixed hourly windows that start at
 * minute MM of every hour (HH only anchors the phase), so every device resets together.
 */
import type { Config, Priority } from '../shared/config.js';
import type { CoordinatorState } from '../shared/state.js';

const HOUR_MS = 3_600_000;

export type RateDecision =
  | { allowed: true; via: 'limit' | 'burst' | 'critical' | 'disabled' }
  | { allowed: false; action: 'reject' | 'defer'; resetsAt: string | null; used: number; limit: number };

export interface RateWindow {
  windowStart: number | null;
  used: number;
  resetsAt: number | null;
}

/** The window as it stands now (an expired window reads as empty). Future times are clamped. */
export function currentWindow(config: Config, persisted: CoordinatorState['rate_limit'], now: number): RateWindow {
  if (config.hour_reset_time !== 'auto') {
    const minute = Number(config.hour_reset_time.split(':')[1] ?? 0);
    const d = new Date(now);
    const start = new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), minute).getTime();
    const windowStart = start > now ? start - HOUR_MS : start;
    const stored = persisted.window_start ? Date.parse(persisted.window_start) : NaN;
    const used = stored === windowStart ? persisted.used : 0;
    return { windowStart, used, resetsAt: windowStart + HOUR_MS };
  }
  let start = persisted.window_start ? Date.parse(persisted.window_start) : NaN;
  if (Number.isNaN(start)) return { windowStart: null, used: 0, resetsAt: null };
  // A clock that went backwards must not extend the window beyond an hour from now.
  if (start > now) start = now;
  if (now >= start + HOUR_MS) return { windowStart: null, used: 0, resetsAt: null };
  return { windowStart: start, used: persisted.used, resetsAt: start + HOUR_MS };
}

export function decide(config: Config, persisted: CoordinatorState['rate_limit'], priority: Priority, now: number): RateDecision {
  if (!config.rate_limiting_enabled) return { allowed: true, via: 'disabled' };
  const w = currentWindow(config, persisted, now);
  const limit = config.max_syncs_per_hour;
  if (priority === 'critical') return { allowed: true, via: w.used < limit ? 'limit' : 'critical' };
  if (w.used < limit) return { allowed: true, via: 'limit' };
  if (priority === 'high' && w.used < limit + config.burst_capacity) return { allowed: true, via: 'burst' };
  const resetsAt = w.resetsAt === null ? null : new Date(w.resetsAt).toISOString();
  return { allowed: false, action: refusalFor(priority), resetsAt, used: w.used, limit };
}

/** Over the limit, `low` waits in the queue until the window resets; the others are rejected (exit 3). */
export function refusalFor(priority: Priority): 'defer' | 'reject' {
  return priority === 'low' ? 'defer' : 'reject';
}

/** Count one sync that ran (a coalesced batch counts once). */
export function recordSync(config: Config, persisted: CoordinatorState['rate_limit'], now: number): CoordinatorState['rate_limit'] {
  const w = currentWindow(config, persisted, now);
  const start = w.windowStart ?? now;
  return { window_start: new Date(start).toISOString(), used: w.used + 1 };
}

export function rateLimitView(config: Config, persisted: CoordinatorState['rate_limit'], now: number) {
  const w = currentWindow(config, persisted, now);
  return {
    enabled: config.rate_limiting_enabled,
    limit: config.max_syncs_per_hour,
    burst: config.burst_capacity,
    used: w.used,
    resets_at: w.resetsAt === null || (config.hour_reset_time === 'auto' && w.windowStart === null) ? null : new Date(w.resetsAt).toISOString(),
  };
}

/**
 * The refusal message. Only a priority that can still pass is told about it: `normal`
 * hears about the burst, `high` (already past the burst) only about `critical`.
 */
export function rateLimitMessage(used: number, limit: number, resetsAt: string | null, priority?: Priority, burst?: number): string {
  const head = `rate limit reached: ${used} of ${limit} syncs used this hour${priority === 'high' && burst ? ` (and the ${burst} burst syncs for high)` : ''}; resets at ${resetsAt ?? 'the next window'}`;
  if (priority === 'high') return `${head} (priority critical always passes)`;
  return `${head} (priority high may use the burst capacity, critical always passes)`;
}
