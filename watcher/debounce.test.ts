import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/shared/clock.js';
import { createDebouncer, type Burst } from './debounce.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('createDebouncer (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once, debounceMs after the last change', async () => {
    const fired: Burst[] = [];
    const d = createDebouncer({ debounceMs: 300, maxWaitMs: 10_000, fire: (b) => void fired.push(b) });
    d.notify('a');
    await vi.advanceTimersByTimeAsync(100);
    d.notify('b');
    await vi.advanceTimersByTimeAsync(100);
    d.notify('a');
    expect(d.pending()).toBe(3);
    await vi.advanceTimersByTimeAsync(299);
    expect(fired).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual([{ changes: 3, paths: ['a', 'b'], firstAt: 0, lastAt: 200 }]);
    expect(d.pending()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fired).toHaveLength(1);
  });

  it('caps a never-quiet burst at maxWaitMs (a write every 200 ms for 8 s)', async () => {
    const fired: Array<Burst & { at: number }> = [];
    const d = createDebouncer({ debounceMs: 300, maxWaitMs: 3000, fire: (b) => void fired.push({ ...b, at: Date.now() }) });
    for (let t = 0; t < 8000; t += 200) {
      d.notify(`f${t % 1000}`);
      await vi.advanceTimersByTimeAsync(200);
    }
    // While the writes go on, only the cap can fire: at 3 s and 6 s after each burst began.
    expect(fired.map((f) => f.at)).toEqual([3000, 6000]);
    expect(fired.map((f) => f.changes)).toEqual([15, 15]);
    await vi.advanceTimersByTimeAsync(5000);
    // Then the last burst (6.0 s … 7.8 s) ends by its quiet period.
    expect(fired.map((f) => f.at)).toEqual([3000, 6000, 8100]);
    expect(fired.reduce((n, f) => n + f.changes, 0)).toBe(40);
    for (const f of fired) expect(f.lastAt - f.firstAt).toBeLessThanOrEqual(3000);
  });

  it('gives exactly one fire per quiet period, none without changes', async () => {
    const fire = vi.fn();
    const d = createDebouncer({ debounceMs: 500, maxWaitMs: 5000, fire });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fire).not.toHaveBeenCalled();
    for (let i = 0; i < 1000; i++) d.notify(`p${i % 200}`);
    await vi.advanceTimersByTimeAsync(2000);
    expect(fire).toHaveBeenCalledTimes(1);
    expect(fire.mock.calls[0]![0]).toMatchObject({ changes: 1000 });
    expect((fire.mock.calls[0]![0] as Burst).paths).toHaveLength(200);
    d.notify('x');
    await vi.advanceTimersByTimeAsync(2000);
    expect(fire).toHaveBeenCalledTimes(2);
  });

  it('bounds the paths it keeps but counts every change', async () => {
    const fire = vi.fn();
    const d = createDebouncer({ debounceMs: 10, maxWaitMs: 100, maxPaths: 3, fire });
    for (let i = 0; i < 10; i++) d.notify(`p${i}`);
    await vi.advanceTimersByTimeAsync(10);
    expect(fire.mock.calls[0]![0]).toMatchObject({ changes: 10, paths: ['p0', 'p1', 'p2'] });
  });

  it('holds changes made during a running fire and fires exactly once more after it', async () => {
    const gate = deferred();
    const fired: Burst[] = [];
    let running = 0;
    let overlapped = false;
    const d = createDebouncer({
      debounceMs: 300,
      maxWaitMs: 1000,
      fire: async (b) => {
        overlapped ||= running > 0;
        running++;
        fired.push(b);
        if (fired.length === 1) await gate.promise;
        running--;
      },
    });
    d.notify('a');
    await vi.advanceTimersByTimeAsync(300);
    expect(fired).toHaveLength(1);
    expect(d.firing()).toBe(true);
    // A burst that reaches both its quiet period and its cap while the first fire runs.
    for (let i = 0; i < 5; i++) {
      d.notify(`b${i}`);
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.advanceTimersByTimeAsync(5000);
    expect(fired).toHaveLength(1);
    expect(d.pending()).toBe(5);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toHaveLength(2);
    expect(fired[1]).toMatchObject({ changes: 5, paths: ['b0', 'b1', 'b2', 'b3', 'b4'] });
    await vi.advanceTimersByTimeAsync(5000);
    expect(fired).toHaveLength(2);
    expect(overlapped).toBe(false);
  });

  it('lets changes made during a short fire finish their own quiet period', async () => {
    const gate = deferred();
    const at: number[] = [];
    const d = createDebouncer({
      debounceMs: 300,
      maxWaitMs: 1000,
      fire: async () => {
        at.push(Date.now());
        if (at.length === 1) await gate.promise;
      },
    });
    d.notify('a');
    await vi.advanceTimersByTimeAsync(300);
    d.notify('b'); // at 300, while the first fire runs
    await vi.advanceTimersByTimeAsync(50);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(at).toEqual([300]);
    await vi.advanceTimersByTimeAsync(300);
    expect(at).toEqual([300, 600]);
  });

  it('reports a failed fire and keeps working', async () => {
    const onError = vi.fn();
    let calls = 0;
    const d = createDebouncer({
      debounceMs: 100,
      maxWaitMs: 1000,
      onError,
      fire: () => {
        calls++;
        if (calls === 1) throw new Error('boom');
      },
    });
    d.notify('a');
    await vi.advanceTimersByTimeAsync(100);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }));
    d.notify('b');
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(2);
  });

  it('close() waits for the running fire and drops what is pending', async () => {
    const gate = deferred();
    const fire = vi.fn(() => gate.promise);
    const d = createDebouncer({ debounceMs: 100, maxWaitMs: 1000, fire });
    d.notify('a');
    await vi.advanceTimersByTimeAsync(100);
    d.notify('b');
    let closed = false;
    const closing = d.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(1000);
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    await vi.advanceTimersByTimeAsync(1000);
    expect(fire).toHaveBeenCalledTimes(1);
    d.notify('c');
    await vi.advanceTimersByTimeAsync(1000);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('rejects nonsense durations', () => {
    expect(() => createDebouncer({ debounceMs: -1, maxWaitMs: 10, fire: () => {} })).toThrow(RangeError);
    expect(() => createDebouncer({ debounceMs: 10, maxWaitMs: Number.NaN, fire: () => {} })).toThrow(RangeError);
  });
});

describe('createDebouncer (injected clock)', () => {
  it('runs entirely on the clock it is given', () => {
    let now = 1_000;
    const timers: Array<{ at: number; fn: () => void }> = [];
    const clock: Clock = {
      now: () => now,
      setTimeout: (fn, ms) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        return t;
      },
      clearTimeout: (h) => {
        const i = timers.indexOf(h as (typeof timers)[number]);
        if (i >= 0) timers.splice(i, 1);
      },
    };
    const advance = (ms: number) => {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > end) break;
        timers.shift();
        now = next.at;
        next.fn();
      }
      now = end;
    };
    const fired: Burst[] = [];
    const d = createDebouncer({ debounceMs: 50, maxWaitMs: 120, clock, fire: (b) => void fired.push(b) });
    for (let i = 0; i < 10; i++) {
      d.notify('a');
      advance(20);
    }
    expect(fired.map((b) => [b.firstAt, b.lastAt, b.changes])).toEqual([[1000, 1100, 6]]);
  });
});
