/**
 * The stuck-operation watchdog. While the daemon runs a sync, it checks every few
 * seconds whether this process's own operation (the coordinator state's `active`)
 * has run longer than stuck_timeout_s; if so it aborts it (the pipeline restores what
 * it started) and reports it. An aborted operation that does not unwind within
 * UNWIND_GRACE_MS is given up as 'hung': the caller exits so that the lock is freed
 * (its owner is then dead) and a supervisor restarts the daemon.
 *
 * Only the daemon's own operation can be aborted: it is the only one it can signal.
 */
import type { ActiveOp } from '../shared/state.js';
import type { Clock, TimerHandle } from '../shared/clock.js';

/** After an abort (shutdown or stuck op), how long the operation may take to unwind. */
export const UNWIND_GRACE_MS = 30_000;

/** How often to look: a quarter of the limit, between 250 ms and 5 s. */
export function watchdogPeriodMs(stuckMs: number): number {
  return Math.min(5000, Math.max(250, Math.floor(stuckMs / 4)));
}

export interface WatchdogOptions<T> {
  clock: Clock;
  /** Shutdown: aborts the operation too (and starts the unwind grace). */
  signal: AbortSignal;
  stuckMs: number;
  pid: number;
  /** The operation running now, from the coordinator state; null when none or unreadable. */
  readActive: () => Promise<ActiveOp | null>;
  /** The error the stuck operation is aborted with. */
  stuckError: (active: ActiveOp) => Error;
  /** Told once, when the operation is aborted as stuck. */
  onStuck: (active: ActiveOp, ageMs: number) => void;
  run: (signal: AbortSignal) => Promise<T>;
  graceMs?: number;
}

export async function runWithWatchdog<T>(o: WatchdogOptions<T>): Promise<T | 'hung'> {
  const { clock } = o;
  const stuck = new AbortController();
  const opSignal = AbortSignal.any([o.signal, stuck.signal]);
  const period = watchdogPeriodMs(o.stuckMs);
  let checkTimer: TimerHandle | null = null;
  let finished = false;
  const arm = () => {
    checkTimer = clock.setTimeout(() => {
      if (finished) return;
      arm();
      void check();
    }, period);
  };
  async function check(): Promise<void> {
    if (stuck.signal.aborted) return;
    const active = await o.readActive().catch(() => null);
    if (!active || active.pid !== o.pid) return;
    const age = clock.now() - Date.parse(active.started_at);
    if (!(age > o.stuckMs) || stuck.signal.aborted || finished) return;
    o.onStuck(active, age);
    stuck.abort(o.stuckError(active));
  }

  let hangTimer: TimerHandle | null = null;
  let onOpAbort: (() => void) | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    onOpAbort = () => (hangTimer = clock.setTimeout(() => resolve('hung'), o.graceMs ?? UNWIND_GRACE_MS));
    if (opSignal.aborted) onOpAbort();
    else opSignal.addEventListener('abort', onOpAbort, { once: true });
  });
  arm();
  const run = o.run(opSignal);
  run.catch(() => {}); // if it is abandoned as hung, its late failure must not crash us
  try {
    return await Promise.race([run, hung]);
  } finally {
    finished = true;
    if (checkTimer !== null) clock.clearTimeout(checkTimer);
    if (hangTimer !== null) clock.clearTimeout(hangTimer);
    if (onOpAbort) opSignal.removeEventListener('abort', onOpAbort);
  }
}
