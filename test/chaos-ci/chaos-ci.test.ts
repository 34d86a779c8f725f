/**
 * The bounded chaos run that `npm test` includes: the same harness as the full suite
 * (test/chaos, `npm run test:chaos`), with a few rounds so it stays well under a minute
 * on the CI machine. A failure prints its seed: replay it with CHAOS_SEED=<n>
 * (CHAOS_CI_ROUNDS=<n> to change the rounds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedFromEnv } from '../chaos/harness/prng.js';
import { publishFigures, runChaos } from '../chaos/harness/run.js';
import { World } from '../chaos/harness/world.js';

const rounds = Number(process.env.CHAOS_CI_ROUNDS ?? 7);
const seed = seedFromEnv();
// About 25 s alone; a loaded 2-core machine has needed more than 60 s.
const BUDGET_MS = 180_000;

describe(`chaos (CI subset): ${rounds} rounds, seed ${seed}`, () => {
  let world: World | null = null;
  let ok = false;
  beforeAll(async () => {
    process.stdout.write(`CHAOS_SEED=${seed} CHAOS_CI_ROUNDS=${rounds}\n`);
    world = await World.create();
  });
  afterAll(async () => {
    // As in the full suite: the sandbox is kept for a look only when asked (CHAOS_KEEP=1).
    const keep = process.env.CHAOS_KEEP === 'always' || (process.env.CHAOS_KEEP === '1' && !ok);
    if (keep && world) process.stdout.write(`CHAOS_KEPT ${world.sb.dir}\n`);
    await world?.dispose(!keep);
  });

  it(
    'converges with every accepted edit kept, no marker, no force push, nothing left over',
    async () => {
      const report = await runChaos(world!, { rounds, seed, maxProcs: 4 });
      publishFigures(report);
      if (report.notes.length) process.stdout.write(`chaos notes:\n  ${report.notes.join('\n  ')}\n`);
      expect(report.violations, `seed ${seed} (replay with CHAOS_SEED=${seed} CHAOS_CI_ROUNDS=${rounds} npx vitest run test/chaos-ci)`).toEqual([]);
      expect(report.figures.edits_lost + report.figures.deletes_undone).toBe(0);
      ok = true;
    },
    BUDGET_MS,
  );
});
