/**
 * A counting semaphore: the user daemon's global cap on git work across workspaces
 * (max_parallel_syncs). Waiters are served first come, first served; an aborted waiter
 * leaves the line without taking a slot.
 */
import type { Slots } from './daemon.js';

export function createSlots(max: number): Slots & { inUse(): number; waiting(): number } {
  let used = 0;
  const line: Array<{ grant: () => void }> = [];
  const release = () => {
    used--;
    const next = line.shift();
    if (next) next.grant();
  };
  return {
    inUse: () => used,
    waiting: () => line.length,
    acquire(signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (used < max) {
        used++;
        return Promise.resolve(once(release));
      }
      return new Promise((resolve, reject) => {
        const waiter = {
          grant: () => {
            signal.removeEventListener('abort', onAbort);
            used++;
            resolve(once(release));
          },
        };
        const onAbort = () => {
          const i = line.indexOf(waiter);
          if (i >= 0) line.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        line.push(waiter);
      });
    },
  };
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}
