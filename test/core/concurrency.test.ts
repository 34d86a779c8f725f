/**
 * Invariants 1, 2, 3 and 12 with real processes: many concurrent request-sync calls,
 * and SIGKILL at moments picked by a seeded generator during processing. The seed is
 * printed; KILL_SEED=<n> replays the same moments (timing on the machine still varies).
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exited, runCli, startCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { makeGitRecorder, overlappingOps } from '../helpers/git-recorder.js';
import { createRng, seedFromEnv } from '../chaos/harness/prng.js';

const KILL_SEED = seedFromEnv(process.env, 'KILL_SEED');

let sb: Sandbox | null = null;
afterEach(() => {
  sb?.cleanup();
  sb = null;
});

function statusJson(cwd: string, env: NodeJS.ProcessEnv) {
  return runCli(['status', '--json'], { cwd, env }).then((r) => JSON.parse(r.stdout));
}

describe('concurrent request-sync', () => {
  it('50 processes at once: all exit 0, one git writer at a time, a handful of syncs, every request counted', async () => {
    sb = makeSandbox();
    const repo = sb.clone('a');
    const rec = makeGitRecorder(sb.dir);
    const env = { ...sb.env, PATH: `${rec.binDir}:${sb.env.PATH}` };
    writeFileSync(join(repo, 'change.txt'), 'made before the storm\n');

    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => runCli(['request-sync', 'smart', `caller-${i}`, 'normal', `reason ${i}`], { cwd: repo, env, timeoutMs: 120_000 })),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    // Late arrivals are served by the lock holder's re-check; wait until all are accounted for.
    const status = await waitFor(
      async () => {
        const s = await statusJson(repo, sb!.env);
        return s.stats.requests === 50 && s.queue.pending === 0 && !s.lock.held ? s : null;
      },
      { what: 'all 50 requests processed', timeoutMs: 60_000 },
    );
    expect(status.stats.requests).toBe(50);
    expect(status.stats.merged).toBe(50 - status.stats.syncs_ok - status.stats.syncs_failed);

    const calls = rec.calls();
    expect(overlappingOps(calls)).toEqual([]);
    const ops = new Set(calls.filter((c) => c.op).map((c) => c.op));
    expect(ops.size).toBeGreaterThanOrEqual(1);
    expect(ops.size).toBeLessThanOrEqual(5);
    // Invariant 12: git without an op id (outside the lock) is read-only.
    for (const c of calls.filter((x) => !x.op)) expect(c.args.startsWith('--no-optional-locks ')).toBe(true);

    const remoteTree = sb.git(sb.remote, 'ls-tree', '--name-only', 'main');
    expect(remoteTree).toContain('change.txt');
  }, 180_000);
});

describe(`kill -9 during processing (KILL_SEED=${KILL_SEED})`, () => {
  it('the next process takes over without --force and no accepted request is lost', async () => {
    process.stdout.write(`KILL_SEED=${KILL_SEED}\n`);
    const rng = createRng(KILL_SEED);
    sb = makeSandbox();
    const repo = sb.clone('a');
    const env = sb.env;
    const accepted: string[] = [];
    const rounds = 8;
    for (let round = 0; round < rounds; round++) {
      writeFileSync(join(repo, `round-${round}.txt`), `edit ${round}\n`);
      const r = await runCli(['request-sync', 'manual', `killer-${round}`, 'critical', '--enqueue-only', '--json'], { cwd: repo, env });
      expect(r.code, r.stderr).toBe(0);
      accepted.push(JSON.parse(r.stdout).id);
      const child = startCli(['process'], { cwd: repo, env });
      const done = exited(child);
      // A moment from the seed: before, during or after the lock, the commit, the push.
      await new Promise((res) => setTimeout(res, rng.int(30, 429)));
      child.kill('SIGKILL');
      await done;
    }
    const final = await runCli(['process'], { cwd: repo, env, timeoutMs: 120_000 });
    expect(final.code, final.stderr + final.stdout).toBe(0);

    const state = join(repo, '.claude/sync-coordination');
    const pending = readdirSync(join(state, 'queue')).filter((n) => n.endsWith('.json'));
    expect(pending).toEqual([]);
    for (const id of accepted) expect(existsSync(join(state, 'results', `${id}.json`)), `result of ${id}`).toBe(true);
    const remoteTree = sb.git(sb.remote, 'ls-tree', '--name-only', 'main');
    for (let round = 0; round < rounds; round++) expect(remoteTree).toContain(`round-${round}.txt`);
    const s = await statusJson(repo, env);
    expect(s.lock.held).toBe(false);
    expect(s.stats.requests).toBe(rounds);
    expect(sb.git(repo, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(state, 'coordinator-state.json'), 'utf8')).toContain('"active": null');
  }, 180_000);
});
