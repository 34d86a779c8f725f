/**
 * Issue 12 item 5: the state tells the truth. Each case fails on the code before it:
 * a stale last_error after a success, a detached HEAD counted as a failed sync, a
 * paused workspace answering `"result":"failed"` with exit 5, a `high` request past its
 * burst told to use the burst, and `status` silent about a corrupt state file.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, setupDevice, STATE_DIR, testConfig } from '../engine/engine-helpers.js';
import { emptyState } from '../../src/shared/state.js';

let sb: Sandbox;
let a: string;
beforeEach(async () => {
  sb = makeSandbox();
  a = sb.clone('a');
  await setupDevice(sb, a, testConfig('a'));
});
afterEach(() => sb.cleanup());

// biome-ignore lint/suspicious/noExplicitAny: each case reads a different key of the status JSON
async function status(): Promise<any> {
  const r = await cli(sb, a, ['status', '--json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

function writeState(mut: (s: ReturnType<typeof emptyState>) => void): void {
  const s = emptyState();
  mut(s);
  writeFileSync(join(a, STATE_DIR, 'coordinator-state.json'), JSON.stringify(s));
}

describe('state that tells the truth', () => {
  it('last_error is cleared by the next successful sync', async () => {
    sb.git(a, 'remote', 'set-url', 'origin', join(sb.dir, 'missing.git'));
    writeFileSync(join(a, 'f.txt'), 'one\n');
    const bad = await cli(sb, a, ['sync-now']);
    expect(bad.code).toBe(1);
    expect((await status()).stats.last_error).toMatch(/not found|does not appear/);
    sb.git(a, 'remote', 'set-url', 'origin', sb.remote);
    const good = await cli(sb, a, ['sync-now']);
    expect(good.code, good.stderr).toBe(0);
    const st = await status();
    expect(st.stats.last_error).toBeNull();
    expect(st.backoff).toBeNull();
  });

  it('a detached HEAD is a refusal, not a failed sync', async () => {
    sb.git(a, 'checkout', '-q', '--detach', 'HEAD');
    writeFileSync(join(a, 'f.txt'), 'x\n');
    const r = await cli(sb, a, ['request-sync', 'smart', 'test', '--wait', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).result).toBe('failed');
    const st = await status();
    expect(st.stats.syncs_failed).toBe(0);
    expect(st.stats.refused).toBe(1);
    expect(st.stats.last_error).toBeNull();
    expect(st.last_op.result).toBe('refused');
  });

  it('request-sync --wait --json on a paused workspace: result "conflict" with exit 5', async () => {
    writeState((s) => {
      s.paused = { reason: 'conflict left for you', since: new Date().toISOString(), paths: ['f.txt'], op: null };
    });
    const r = await cli(sb, a, ['request-sync', 'smart', 'test', '--wait', '--json']);
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout).result).toBe('conflict');
  });

  it('a high request past its burst is not told to use the burst', async () => {
    writeFileSync(
      join(a, STATE_DIR, 'config.json'),
      JSON.stringify(testConfig('a', { rate_limiting_enabled: true, max_syncs_per_hour: 2, burst_capacity: 1 })),
    );
    writeState((s) => {
      s.rate_limit = { window_start: new Date().toISOString(), used: 3 };
    });
    const high = await cli(sb, a, ['request-sync', 'smart', 'test', 'high']);
    expect(high.code).toBe(3);
    expect(high.stderr).toContain('rate limit reached: 3 of 2 syncs used this hour (and the 1 burst syncs for high)');
    expect(high.stderr).not.toMatch(/may use the burst/);
    expect(high.stderr).toMatch(/critical always passes/);
    const normal = await cli(sb, a, ['request-sync', 'smart', 'test', 'normal']);
    expect(normal.code).toBe(3);
    expect(normal.stderr).toMatch(/priority high may use the burst capacity/);
  });

  it('status says when coordinator-state.json is corrupt, and the command it suggests fixes it', async () => {
    writeFileSync(join(a, STATE_DIR, 'coordinator-state.json'), '{"version": 1, "stats": tor');
    const st = await status();
    expect(st.state_file.corrupt).toBe(true);
    const human = await cli(sb, a, ['status']);
    const line = human.stdout.split('\n').find((l) => l.startsWith('STATE:'));
    expect(line).toContain('coordinator-state.json is corrupt');
    // The suggestion, verbatim.
    const cmd = /: sync-coordinator (.+)$/.exec(line!)![1]!.split(' ');
    const fixed = await cli(sb, a, cmd);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((await status()).state_file.corrupt).toBe(false);
    expect(readdirSync(join(a, STATE_DIR)).some((f) => f.startsWith('coordinator-state.json.corrupt-'))).toBe(true);
  });

  it('a repeated identical permanent failure is recorded and shown as a backoff', async () => {
    sb.git(a, 'remote', 'set-url', 'origin', join(sb.dir, 'missing.git'));
    writeFileSync(join(a, 'f.txt'), 'one\n');
    expect((await cli(sb, a, ['sync-now'])).code).toBe(1);
    writeFileSync(join(a, 'f.txt'), 'two\n');
    expect((await cli(sb, a, ['sync-now'])).code).toBe(1);
    const state = JSON.parse(readFileSync(join(a, STATE_DIR, 'coordinator-state.json'), 'utf8'));
    expect(state.last_failure).toMatchObject({ code: 'ENOTFOUND', permanent: true, count: 2 });
    const st = await status();
    expect(st.backoff).toMatchObject({ failures: 2 });
    expect(Date.parse(st.backoff.until)).toBeGreaterThan(Date.now());
    const human = await cli(sb, a, ['status']);
    expect(human.stdout).toMatch(/^backoff: +automatic syncs wait until /m);
  });
});
