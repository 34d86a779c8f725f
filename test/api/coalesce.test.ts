import { describe, expect, it } from 'vitest';
import { createCoalescer } from '../../src/api/coalesce.js';

describe('coalesced builds', () => {
  it('callers during a build share the next one, which starts after they asked', async () => {
    const coalesce = createCoalescer<number>();
    let builds = 0;
    const gates: Array<() => void> = [];
    const build = () => {
      const n = ++builds;
      return new Promise<number>((resolve) => gates.push(() => resolve(n)));
    };
    const first = coalesce('w', build);
    // Arrive while build 1 runs: none of them may get build 1 (it started before they asked).
    const later = [coalesce('w', build), coalesce('w', build), coalesce('w', build)];
    expect(builds).toBe(1);
    gates.shift()!();
    expect(await first).toBe(1);
    await new Promise((r) => setTimeout(r, 0));
    expect(builds).toBe(2);
    gates.shift()!();
    expect(await Promise.all(later)).toEqual([2, 2, 2]);
    // Other keys are independent.
    const other = coalesce('v', build);
    expect(builds).toBe(3);
    gates.shift()!();
    expect(await other).toBe(3);
  });

  it('a failed build fails its callers only; the next caller builds again', async () => {
    const coalesce = createCoalescer<number>();
    await expect(coalesce('w', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await coalesce('w', () => Promise.resolve(7))).toBe(7);
  });
});
