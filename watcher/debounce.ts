/**
 * Repo-level quiet-period logic, free of I/O so it can be driven by fake timers.
 *
 * Many file events become one "fire": `debounceMs` after the last change, but never
 * later than `maxWaitMs` after the first change of the burst (a file rewritten every
 * second would otherwise postpone the sync forever). Fires never overlap: changes that
 * arrive while a fire runs are held as the next burst, and that burst fires once the
 * running one has finished, so a change made during a sync is never lost.
 */

import { type Clock, systemClock, type TimerHandle } from '../src/shared/clock.js';

export interface Burst {
  /** Every change notified during the burst, repeats included. */
  changes: number;
  /** Distinct paths in arrival order, at most `maxPaths` of them. */
  paths: string[];
  firstAt: number;
  lastAt: number;
}

export interface DebounceOptions {
  debounceMs: number;
  maxWaitMs: number;
  fire: (burst: Burst) => Promise<void> | void;
  /** A failed fire is reported, not retried: the next change starts a new burst. */
  onError?: (err: unknown) => void;
  clock?: Clock;
  /** Bounds memory in a huge burst (a checkout of 100k files); `changes` still counts all. */
  maxPaths?: number;
}

export interface Debouncer {
  notify(path: string): void;
  /** Changes waiting for a fire (not counting the one running). */
  pending(): number;
  firing(): boolean;
  /** Stops timers, drops what is pending, and waits for a running fire to finish. */
  close(): Promise<void>;
}

interface OpenBurst {
  changes: number;
  paths: Set<string>;
  firstAt: number;
  lastAt: number;
}

export function createDebouncer(opts: DebounceOptions): Debouncer {
  const { debounceMs, maxWaitMs } = opts;
  for (const [name, v] of [
    ['debounceMs', debounceMs],
    ['maxWaitMs', maxWaitMs],
  ] as const) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
  }
  const clock = opts.clock ?? systemClock;
  const maxPaths = opts.maxPaths ?? 200;

  let burst: OpenBurst | null = null;
  let timer: TimerHandle | null = null;
  let running: Promise<void> | null = null;
  // The burst's deadline passed while a fire was running: fire as soon as it ends.
  let dueWhileRunning = false;
  let closed = false;

  const dueAt = (b: OpenBurst) => Math.min(b.lastAt + debounceMs, b.firstAt + maxWaitMs);

  // One timer per burst, re-armed lazily at expiry instead of on every change: a burst of
  // 10k events costs a handful of timers, not 10k clear/set pairs.
  const arm = (ms: number) => {
    timer = clock.setTimeout(onTimer, Math.max(0, ms));
  };

  function onTimer(): void {
    timer = null;
    if (closed || !burst) return;
    const wait = dueAt(burst) - clock.now();
    if (wait > 0) {
      arm(wait);
    } else if (running !== null) {
      dueWhileRunning = true;
    } else {
      startFire();
    }
  }

  function startFire(): void {
    const b = burst;
    if (!b || closed) return;
    burst = null;
    dueWhileRunning = false;
    const snapshot: Burst = { changes: b.changes, paths: [...b.paths], firstAt: b.firstAt, lastAt: b.lastAt };
    running = (async () => {
      try {
        await opts.fire(snapshot);
      } catch (err) {
        opts.onError?.(err);
      }
    })().finally(() => {
      running = null;
      if (closed) return;
      if (dueWhileRunning) startFire();
    });
  }

  return {
    notify(path: string): void {
      if (closed) return;
      const now = clock.now();
      if (!burst) {
        burst = { changes: 0, paths: new Set(), firstAt: now, lastAt: now };
        if (timer === null) arm(dueAt(burst) - now);
      }
      burst.changes++;
      burst.lastAt = now;
      if (burst.paths.size < maxPaths) burst.paths.add(path);
    },
    pending: () => burst?.changes ?? 0,
    firing: () => running !== null,
    async close(): Promise<void> {
      closed = true;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      burst = null;
      await running;
    },
  };
}
