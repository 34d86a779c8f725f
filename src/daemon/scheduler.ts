/**
 * The daemon loop's timing, and nothing else: which part runs when. The parts (config
 * reload, health, housekeeping, the periodic pull, reconcile, the remote probe, queue
 * processing) do the work and keep their own state; this module owns the deadlines and
 * the one wake-up, reads time only from the injected clock, and runs one cycle at a time.
 *
 * A cycle: config first (a valid change stops the loop before any other work), then
 * health and housekeeping when due, then the periodic pull or (on a process tick)
 * reconcile, then the probe, then the queue when something asked for it (a poke, the
 * process tick, a forced run, or a retry time reached). Then it sleeps until the
 * earliest deadline or the next poke.
 */
import type { QueueEntry } from '../core/queue.js';
import type { Clock } from '../shared/clock.js';
import { createWake, type Wake } from './wake.js';

/** Longest sleep between cycles, whatever the deadlines say (a clock jump is noticed within it). */
export const MAX_SLEEP_MS = 3_600_000;

export interface SchedulerIntervals {
  processMs: number;
  healthMs: number;
  /** 0: no periodic pull, and no remote probe either. */
  pullMs: number;
  probeMs: number;
}

export interface QueueProcessing {
  /** Process at the next cycle even without a poke (a stale lock to take over). */
  forced(): boolean;
  /** When to process again without a poke (a deferred request, a back-off); Infinity: not before a poke or the tick. */
  retryAt(): number;
  run(): Promise<void>;
}

export interface CycleParts {
  checkConfig(): Promise<void>;
  health(): Promise<void>;
  housekeeping(): Promise<void>;
  /** The queue's requests that are not rejected. */
  readPending(): Promise<QueueEntry[]>;
  pull(pending: QueueEntry[]): Promise<void>;
  reconcile(pending: QueueEntry[]): Promise<void>;
  /** Called every probe interval; starts a probe if it should (not awaited). */
  probe(t: number, pending: QueueEntry[]): void;
  process: QueueProcessing;
  /** After every cycle; `completed` is false when a part threw. */
  endCycle(completed: boolean): Promise<void>;
  cycleFailed(e: unknown): void;
}

export interface Scheduler {
  /** Runs cycles until stop() or the signal; resolves after the last cycle's endCycle. */
  run(): Promise<void>;
  /** Wake the loop now: a request was written, the disk pause lifted. */
  poke(): void;
  /** Housekeeping at the next cycle, not only at the process tick (the state directory went away). */
  housekeepingSoon(): void;
  /** End the loop after the current part. */
  stop(): void;
  stopping(): boolean;
}

export function createScheduler(o: { clock: Clock; signal: AbortSignal; intervals: SchedulerIntervals; parts: CycleParts; wake?: Wake }): Scheduler {
  const { clock, signal, parts } = o;
  const { processMs, healthMs, pullMs, probeMs } = o.intervals;
  const wake = o.wake ?? createWake(clock);
  let stopped = false;
  let housekeepingDue = false;
  const done = () => stopped || signal.aborted;

  async function run(): Promise<void> {
    const start = clock.now();
    let nextTick = start;
    let nextHealth = start;
    let nextPull = pullMs > 0 ? start : Infinity;
    let nextProbe = start + probeMs;
    while (!done()) {
      const woken = wake.take();
      const t = clock.now();
      const tick = t >= nextTick;
      let completed = false;
      try {
        await parts.checkConfig();
        if (done()) break;
        if (t >= nextHealth) {
          nextHealth = t + healthMs;
          await parts.health();
        }
        if (tick || housekeepingDue) {
          if (tick) nextTick = t + processMs;
          housekeepingDue = false;
          await parts.housekeeping();
        }
        if (done()) break;
        const pending = await parts.readPending();
        if (t >= nextPull) {
          nextPull = t + pullMs;
          await parts.pull(pending);
        } else if (tick) {
          await parts.reconcile(pending);
        }
        if (pullMs > 0 && t >= nextProbe) {
          // Advanced even when no probe starts (one still runs, syncs paused): a deadline
          // left in the past would make every sleep zero, a busy loop.
          nextProbe = t + probeMs;
          parts.probe(t, pending);
        }
        if (wake.take() || woken || tick || parts.process.forced() || t >= parts.process.retryAt()) await parts.process.run();
        completed = true;
      } catch (e) {
        parts.cycleFailed(e);
      }
      await parts.endCycle(completed);
      if (done()) break;
      const next = Math.min(nextTick, nextHealth, nextPull, parts.process.retryAt(), pullMs > 0 ? nextProbe : Infinity);
      await wake.wait(Math.min(MAX_SLEEP_MS, Math.max(0, next - clock.now())), signal);
    }
  }

  return {
    run,
    poke: () => wake.poke(),
    housekeepingSoon: () => {
      housekeepingDue = true;
    },
    stop: () => {
      stopped = true;
      wake.poke();
    },
    stopping: () => stopped,
  };
}
