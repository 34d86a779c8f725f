/**
 * The circuit breaker as policy over a sync (invariant 7): before the sync, what the
 * remote's breaker allows (normal retries, one half-open try, or no remote at all);
 * after it, what the sync's outcome does to the breaker (a network failure after its
 * retries counts, a success closes it). The git pipeline only obeys the access it is
 * given and reports how the sync ended; the breaker's state machine is breaker.ts.
 */
import type { Logger } from '../shared/log.js';
import { breakerView, effectiveState, recordNetworkFailure, recordSuccess } from './breaker.js';
import type { Config } from '../shared/config.js';
import { RemoteUnavailableError } from '../shared/errors.js';
import type { CoordinatorState, StateStore } from '../shared/state.js';
import type { RemoteAccess } from '../git/sync-context.js';

export function remoteAccess(state: CoordinatorState, config: Config, now: number): RemoteAccess {
  const breaker = state.breakers[config.remote];
  const current = effectiveState(breaker, now);
  if (current === 'half-open') return { kind: 'single-try' };
  if (current === 'closed') return { kind: 'normal' };
  return {
    kind: 'skip',
    until: breaker?.open_until ?? null,
    reason: `circuit breaker open after ${breaker?.failures ?? 0} consecutive failed syncs; last error: ${breaker?.last_error ?? 'unknown'}`,
  };
}

/**
 * After a sync: a network failure (after its retries) counts toward the breaker, a
 * sync that finished closes it; any other failure leaves it as it is. A network failure
 * after the local commit landed says so in its message.
 */
export async function recordRemoteOutcome(store: StateStore, config: Config, logger: Logger, now: number, error: unknown): Promise<void> {
  const remote = config.remote;
  if (error instanceof RemoteUnavailableError) {
    await store.update((s) => {
      s.breakers[remote] = recordNetworkFailure(s.breakers[remote], config, now, error.message);
    });
    const view = breakerView(store.get().breakers[remote], config, now);
    if (view.state === 'open') logger.warn({ remote, failures: view.failures, open_until: view.open_until }, 'circuit breaker opened');
    if (error.committedLocally) error.message = `committed locally, but ${error.message}`;
    return;
  }
  if (error !== null) return;
  const breaker = store.get().breakers[remote];
  if (breaker && (breaker.state !== 'closed' || breaker.failures > 0)) {
    await store.update((s) => {
      s.breakers[remote] = recordSuccess();
    });
    logger.info({ remote }, 'remote reachable again; circuit breaker closed');
  }
}
