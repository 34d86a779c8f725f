/**
 * A clock for the daemon's scheduler and its parts that moves only when a test says
 * so. advanceTo() fires every timer due on the way, each at its own time and in order,
 * and lets promise chains settle after each, so a test can assert exact call counts at
 * exact times without sleeping.
 */
import type { Clock, TimerHandle } from '../../src/shared/clock.js';

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 0) {
    this.t = start;
  }

  now = (): number => this.t;

  setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (handle: TimerHandle): void => {
    this.timers.delete(handle as number);
  };

  /** Timers started and neither fired nor cleared. */
  pending(): number {
    return this.timers.size;
  }

  /** When the earliest pending timer is due (Infinity: none). */
  nextAt(): number {
    let next = Infinity;
    for (const { at } of this.timers.values()) next = Math.min(next, at);
    return next;
  }

  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await settle();
      let id: number | null = null;
      let due: { at: number; fn: () => void } | null = null;
      for (const [k, v] of this.timers) if (v.at <= target && (!due || v.at < due.at)) [id, due] = [k, v];
      if (id === null || !due) {
        if (this.t >= target) return;
        this.t = target;
        continue;
      }
      this.timers.delete(id);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.t + ms);
  }
}

/** Let promise chains that wait on nothing real run to their next await on a timer. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}
