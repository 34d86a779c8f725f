import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/shared/events.js';

describe('event bus', () => {
  it('numbers events from 1 and replays what a reconnecting client missed', () => {
    const bus = createEventBus({ ringSize: 3, clock: () => 0 });
    for (let i = 0; i < 5; i++) bus.emit('step.started', 'w1', { step: String(i) });
    expect(bus.lastId()).toBe(5);
    expect(bus.since(3)?.map((e) => e.id)).toEqual([4, 5]);
    expect(bus.since(2)?.map((e) => e.id)).toEqual([3, 4, 5]);
    // Event 2 has left the ring: the client must reload instead of silently missing it.
    expect(bus.since(1)).toBeNull();
    expect(bus.since(5)).toEqual([]);
  });

  it('drops a listener that throws and keeps delivering to the others', () => {
    const bus = createEventBus();
    const seen: number[] = [];
    bus.subscribe(() => {
      throw new Error('broken');
    });
    bus.subscribe((e) => seen.push(e.id));
    bus.emit('conflict', 'w1', {});
    bus.emit('conflict', 'w1', {});
    expect(seen).toEqual([1, 2]);
  });
});
