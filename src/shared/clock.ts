/**
 * Time as the daemon loop and the watcher's debouncer see it: read the time, start and
 * cancel a timer. Every such timer goes through one of these, so the scheduler, its
 * parts and the debouncer can be driven by a fake clock in tests (exact times, no
 * sleeping) and shutdown can be checked to leave no timer behind.
 */
export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock; looks the globals up at call time, so vitest's fake timers apply to it too. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
};
