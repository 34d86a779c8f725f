/**
 * The full chaos suite (npm run test:chaos): CHAOS_ROUNDS rounds (default 30) of random
 * edits, CLI syncs SIGKILLed at random moments or at a chosen moment of the engine
 * (a git step: commit-tree, add, fetch, read-tree, merge-file, update-ref, push; or the
 * move of the user's files, index and branch under .git/index.lock), a daemon kill -9'd
 * and restarted, and a remote that goes down and comes back, across three clones of one
 * `git daemon` remote; plus issue 11's events: a rogue device pushing files under the
 * state directory, ignored files and nested repositories appearing in the work trees.
 * Then the invariant check (harness/checks.ts, harness/trust.ts). Replay a failure with
 * the seed it prints: CHAOS_SEED=<n>.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedFromEnv } from './harness/prng.js';
import { publishFigures, runChaos } from './harness/run.js';
import { World } from './harness/world.js';

const rounds = Number(process.env.CHAOS_ROUNDS ?? 30);
const seed = seedFromEnv();

describe(`chaos: ${rounds} rounds, seed ${seed}`, () => {
  let world: World | null = null;
  let ok = false;
  beforeAll(async () => {
    process.stdout.write(`CHAOS_SEED=${seed} CHAOS_ROUNDS=${rounds}\n`);
    world = await World.create();
  });
  afterAll(async () => {
    // Every process stops even on failure; the sandbox is kept only when asked (CHAOS_KEEP=1).
    const keep = process.env.CHAOS_KEEP === 'always' || (process.env.CHAOS_KEEP === '1' && !ok);
    if (keep && world) process.stdout.write(`CHAOS_KEPT ${world.sb.dir}\n`);
    await world?.dispose(!keep);
  });

  it('converges with every accepted edit kept, no marker, no force push, nothing left over', async () => {
    expect(Number.isInteger(rounds) && rounds > 0, 'CHAOS_ROUNDS must be a positive integer').toBe(true);
    const report = await runChaos(world!, { rounds, seed, log: (l) => process.stdout.write(`chaos ${l}\n`) });
    publishFigures(report);
    if (report.notes.length) process.stdout.write(`chaos notes:\n  ${report.notes.join('\n  ')}\n`);
    if (report.failures.length) process.stdout.write(`chaos CLI failures (expected under faults):\n  ${report.failures.slice(0, 15).join('\n  ')}\n`);
    expect(report.violations, `seed ${seed} (replay with CHAOS_SEED=${seed} CHAOS_ROUNDS=${rounds})`).toEqual([]);
    expect(report.figures.edits_lost).toBe(0);
    ok = true;
  });
});
