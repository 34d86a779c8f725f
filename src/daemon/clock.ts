/**
 * The daemon's notion of time: read the time, start and cancel a timer. Every timer of
 * the daemon loop goes through one of these, so the scheduler and its parts can be
 * driven by a fake clock in tests (exact times, no sleeping) and shutdown can be
 * checked to leave no timer behind.
 */
export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock; looks the globals up at call time. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
};
