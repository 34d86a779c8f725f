import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { merge } from './helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20261206);

// Every line is unique (an id is its first word), so "what each side added and deleted"
// is a plain set of lines and the expected merge is unambiguous. Runs use a fixed seed
// (FC_SEED to explore others) so that a CI run is reproducible.
const word = fc.constantFrom('alpha', 'beta', 'gamma', 'delta', 'echo', 'fox', 'golf', 'hotel');
const line = (id: string) => fc.array(word, { minLength: 1, maxLength: 4 }).map((ws) => `${id} ${ws.join(' ')}\n`);
const baseLines = fc.integer({ min: 4, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => line(`b${i}`))));
const newLines = (side: string) =>
  fc.integer({ min: 0, max: 3 }).chain((n) => (n ? fc.tuple(...Array.from({ length: n }, (_, i) => line(`${side}${i}`))) : fc.constant([] as string[])));

interface Edit {
  start: number;
  end: number;
  insert: string[];
}
const apply = (base: readonly string[], edits: readonly Edit[]) => {
  const out = [...base];
  for (const e of [...edits].sort((x, y) => y.start - x.start)) out.splice(e.start, e.end - e.start, ...e.insert);
  return out;
};
const lines = (s: string) => new Set(s.split('\n').filter(Boolean));

/**
 * Both sides' intent, line by line: every line is unique (its first token is an id), so
 * each line a side added must be in the result, whole, and no base line a side deleted
 * may be. (Words alone are not unique: a word one side deleted can come back inside a
 * line the other side added, which is both intents kept, not a wrong merge.)
 */
function keepsBoth(base: string, local: string, remote: string, result: string): boolean {
  const [b, l, r, out] = [lines(base), lines(local), lines(remote), lines(result)];
  for (const side of [l, r]) {
    for (const x of side) if (!b.has(x) && !out.has(x)) return false;
    for (const x of b) if (!side.has(x) && out.has(x)) return false;
  }
  return true;
}

describe('merge properties (fast-check; a failure prints its seed)', () => {
  it('disjoint line edits (an untouched line between them) always merge to the text that applies both', () => {
    fc.assert(
      fc.property(baseLines, fc.nat(), fc.nat(), fc.nat(), newLines('L'), newLines('R'), fc.boolean(), (base, p, q, r, insL, insR, localFirst) => {
        const n = base.length;
        // local edits [s1, e1), remote edits [s2, e2), with s2 >= e1 + 1.
        const s1 = p % (n - 2);
        const e1 = s1 + (q % Math.min(2, n - 2 - s1));
        const s2 = e1 + 1 + (r % (n - e1 - 1));
        const e2 = Math.min(n, s2 + (q % 2));
        const el = { start: s1, end: e1, insert: insL };
        const er = { start: s2, end: e2, insert: insR };
        const local = apply(base, [el]).join('');
        const remote = apply(base, [er]).join('');
        const want = apply(base, [el, er]).join('');
        const [lt, rt] = localFirst ? [1, 2] : [2, 1];
        for (const side of [merge(base.join(''), local, remote, 'text', [lt, rt]), merge(base.join(''), remote, local, 'text', [rt, lt])]) {
          expect(side.status).toBe('merged');
          if (side.status === 'merged') expect(side.content.toString()).toBe(want);
        }
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it('disjoint word edits in one line (an untouched word between them) merge to both', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.nat(), fc.nat(), (len, p, q) => {
        const ws = Array.from({ length: len }, (_, i) => `w${i}`);
        const i = p % (len - 2);
        const j = i + 2 + (q % (len - i - 2));
        const edit = (k: number, to: string) => ws.map((w, x) => (x === k ? to : w)).join(' ') + '\n';
        const r = merge(ws.join(' ') + '\n', edit(i, 'LOCAL'), edit(j, 'REMOTE'));
        expect(r.status).toBe('merged');
        if (r.status === 'merged') expect(r.content.toString()).toBe(ws.map((w, x) => (x === i ? 'LOCAL' : x === j ? 'REMOTE' : w)).join(' ') + '\n');
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  it("overlapping edits never merge silently: unresolved, or the result keeps both sides' intent exactly", () => {
    const strategy = fc.constantFrom('text' as const, 'union' as const);
    fc.assert(
      fc.property(
        baseLines,
        fc.nat(),
        fc.nat(),
        fc.nat(),
        newLines('L'),
        newLines('R'),
        fc.array(word, { maxLength: 2 }),
        strategy,
        (base, p, q, r, insL, insR, extra, strat) => {
          const n = base.length;
          const s = p % n;
          // Both edit ranges start at s (they overlap or touch); the remote one may also
          // rewrite a word inside the first base line it covers.
          const el = { start: s, end: Math.min(n, s + (q % 3)), insert: insL };
          const er = { start: s, end: Math.min(n, s + (r % 3)), insert: insR.length || extra.length ? insR : [`R9 ${extra.join(' ')}\n`] };
          const local = apply(base, [el]).join('');
          const remote = apply(base, [er]).join('');
          const res = merge(base.join(''), local, remote, strat);
          if (res.status === 'merged') {
            const out = res.content.toString();
            expect(keepsBoth(base.join(''), local, remote, out)).toBe(true);
            expect(out).not.toMatch(/^(<{7}|={7}|>{7})/m);
          }
        },
      ),
      { numRuns: 300, seed: SEED },
    );
  });

  it('the same word changed differently on both sides is never merged by text', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.nat(), (len, p) => {
        const ws = Array.from({ length: len }, (_, i) => `w${i}`);
        const k = p % len;
        const edit = (to: string) => ws.map((w, x) => (x === k ? to : w)).join(' ') + '\n';
        expect(merge(ws.join(' ') + '\n', edit('LOCAL'), edit('REMOTE')).status).toBe('unresolved');
      }),
      { numRuns: 100, seed: SEED },
    );
  });
});
