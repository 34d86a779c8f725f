/**
 * A small seeded PRNG (mulberry32) so a chaos run can be replayed from its seed
 * (CHAOS_SEED). Timing still varies between runs; the choices do not.
 */
export interface Rng {
  readonly seed: number;
  /** [0, 1) */
  next(): number;
  /** Integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** `n` distinct items (fewer when `items` is shorter). */
  sample<T>(items: readonly T[], n: number): T[];
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    seed: seed >>> 0,
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    sample: (items, n) => {
      const copy = [...items];
      const out: typeof copy = [];
      while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(next() * copy.length), 1)[0]!);
      return out;
    },
  };
  return rng;
}

/** The seed in `name` (CHAOS_SEED unless told) when set (decimal), otherwise a fresh random seed. */
export function seedFromEnv(env: NodeJS.ProcessEnv = process.env, name = 'CHAOS_SEED'): number {
  const raw = env[name];
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`${name} must be an integer in [0, 2^32), got ${JSON.stringify(raw)}`);
    return n;
  }
  return Math.floor(Math.random() * 0xffffffff) >>> 0;
}
