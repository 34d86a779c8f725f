/**
 * Circuit breaker per remote, persisted in coordinator-state.json (invariant 7).
 *
 * Why not opossum: its restored `open` state re-arms a fresh full timer on every
 * construction, so short-lived CLI processes that each restore it never reach
 * half-open (nodeshift/opossum#719/#720), and its error-rate window means nothing at 12
 * syncs an hour. This breaker keeps wall-clock times in the state file and decides
 * open → half-open lazily when read; the workspace lock makes the half-open probe
 * exclusive. Only network failures count.
 */
import type { Config } from '../shared/config.js';
import type { BreakerState } from '../shared/state.js';

export function closedBreaker(): BreakerState {
  return { state: 'closed', failures: 0, opened_at: null, open_until: null, last_error: null };
}

/** The effective state now: an open breaker whose cooldown ended reads as half-open. */
export function effectiveState(b: BreakerState | undefined, now: number): BreakerState['state'] {
  if (!b || b.state === 'closed') return 'closed';
  const until = b.open_until ? Date.parse(b.open_until) : NaN;
  if (b.state === 'open' && !Number.isNaN(until) && now < until) {
    // A clock that jumped backwards must not keep the breaker open for longer than planned.
    const opened = b.opened_at ? Date.parse(b.opened_at) : NaN;
    if (!Number.isNaN(opened) && opened > now) return 'half-open';
    return 'open';
  }
  return 'half-open';
}

export function recordSuccess(): BreakerState {
  return closedBreaker();
}

export function recordNetworkFailure(b: BreakerState | undefined, config: Config, now: number, error: string): BreakerState {
  const current = b ?? closedBreaker();
  const failures = current.failures + 1;
  const wasProbe = effectiveState(current, now) === 'half-open';
  if (wasProbe || failures >= config.breaker.failure_threshold) {
    return {
      state: 'open',
      failures,
      opened_at: new Date(now).toISOString(),
      open_until: new Date(now + config.breaker.cooldown_s * 1000).toISOString(),
      last_error: error.slice(0, 300),
    };
  }
  return { ...current, state: 'closed', failures, last_error: error.slice(0, 300) };
}

export function breakerView(b: BreakerState | undefined, _config: Config, now: number) {
  const state = effectiveState(b, now);
  return { state, failures: b?.failures ?? 0, open_until: state === 'closed' ? null : (b?.open_until ?? null) };
}
