/**
 * Callers waiting on a request's outcome through the control socket (`sync-now`,
 * `request-sync --wait`): told each step of the syncs meanwhile, and the outcome when
 * this daemon serves the request, or when a result file shows that another process
 * (a CLI that held the lock) served it.
 */
import { readResult, type RequestOutcome } from '../core/results.js';

const RESULT_POLL_MS = 250;

type Waiter = { resolve: (o: RequestOutcome) => void; onStep: (s: string, op: string) => void };

export function createRequestWaiters(resultsDir: () => string | null) {
  const waiters = new Map<string, Set<Waiter>>();
  return {
    wait(id: string, onStep: (step: string, op: string) => void, waitSignal: AbortSignal): Promise<RequestOutcome> {
      return new Promise<RequestOutcome>((resolve, reject) => {
        const w = { resolve: (out: RequestOutcome) => finish(() => resolve(out)), onStep };
        const set = waiters.get(id) ?? new Set();
        waiters.set(id, set);
        set.add(w);
        const poll = setInterval(() => {
          const dir = resultsDir();
          if (!dir) return;
          void readResult(dir, id).then(
            (r) => r && r.status !== 'deferred' && w.resolve(r),
            () => {},
          );
        }, RESULT_POLL_MS);
        const onAbort = () => finish(() => reject(waitSignal.reason ?? new Error('aborted')));
        waitSignal.addEventListener('abort', onAbort, { once: true });
        let finished = false;
        function finish(then: () => void) {
          if (finished) return;
          finished = true;
          clearInterval(poll);
          waitSignal.removeEventListener('abort', onAbort);
          set.delete(w);
          if (set.size === 0) waiters.delete(id);
          then();
        }
      });
    },
    step(step: string, op: string): void {
      for (const set of waiters.values()) for (const w of set) w.onStep(step, op);
    },
    outcomes(outcomes: Map<string, RequestOutcome>): void {
      for (const [id, out] of outcomes) if (out.status !== 'deferred') for (const w of waiters.get(id) ?? []) w.resolve(out);
    },
  };
}
