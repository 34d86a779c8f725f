/**
 * One full garbage collection once a burst of work (start-up, a sync) has been followed
 * by a few seconds of quiet. V8 collects the old generation when allocation pushes it
 * to its limit, and an idle daemon allocates next to nothing, so what a burst leaves
 * there can stay resident for hours. The collection frees it, and V8's memory reducer,
 * which a full collection arms, returns the emptied pages some seconds later. It costs
 * a few ms of CPU once per burst. `gc` exists only with --expose-gc (DAEMON_NODE_FLAGS);
 * without it this does nothing.
 *
 * Real timers, unref'd: it is memory hygiene, not part of the loop's schedule.
 */

/** Quiet time after a burst of work before the collection. */
export const IDLE_GC_DELAY_MS = 2_000;

export interface IdleCollector {
  /** (Re)start the quiet period. */
  soon(): void;
  cancel(): void;
}

export function idleCollector(delayMs = IDLE_GC_DELAY_MS): IdleCollector {
  const gc = (globalThis as { gc?: () => void }).gc;
  let timer: NodeJS.Timeout | null = null;
  const cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  return {
    soon() {
      if (!gc) return;
      cancel();
      timer = setTimeout(() => {
        timer = null;
        gc();
      }, delayMs);
      timer.unref();
    },
    cancel,
  };
}
