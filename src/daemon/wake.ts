/**
 * The daemon loop's wake-up: level-triggered, so a poke that arrives while the loop is
 * busy is not lost (the next wait returns at once). Waits end on a poke, on the
 * timeout, or when the signal aborts.
 */
import type { Clock } from '../shared/clock.js';

export interface Wake {
  poke(): void;
  /** Whether a poke arrived since the last take(); clears it. */
  take(): boolean;
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

export function createWake(clock: Clock): Wake {
  let pending = false;
  let resolveWait: (() => void) | null = null;
  return {
    poke() {
      pending = true;
      const r = resolveWait;
      resolveWait = null;
      r?.();
    },
    take() {
      const p = pending;
      pending = false;
      return p;
    },
    wait(ms, signal) {
      if (pending || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clock.clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolveWait = null;
          resolve();
        };
        const timer = clock.setTimeout(done, ms);
        resolveWait = done;
        signal.addEventListener('abort', done, { once: true });
      });
    },
  };
}
