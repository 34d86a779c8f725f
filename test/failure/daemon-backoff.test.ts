/**
 * Issue 12: the daemon does not re-run a failure that repeats identically (it re-ran a
 * failing hook 8 times in 20 s). A permanent failure makes automatic requests wait
 * (exponential, up to pull_interval_s); `status` shows the backoff; `sync-now` still
 * tries at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, setupDevice, STATE_DIR, testConfig } from '../engine/engine-helpers.js';

let sb: Sandbox | null = null;
let daemonPid: number | null = null;
afterEach(async () => {
  if (daemonPid) {
    try {
      process.kill(daemonPid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  daemonPid = null;
  sb?.cleanup();
  sb = null;
});

function lastFailure(repo: string): { count: number; code: string; permanent: boolean } | null {
  try {
    return JSON.parse(readFileSync(join(repo, STATE_DIR, 'coordinator-state.json'), 'utf8')).last_failure ?? null;
  } catch {
    return null;
  }
}

describe('daemon backoff on a repeated identical failure', () => {
  it('waits instead of re-running a permanent failure; status says so; sync-now still runs', async () => {
    sb = makeSandbox('sc-backoff-');
    const s = sb;
    const a = s.clone('a');
    await setupDevice(s, a, testConfig('a', { pull_interval_s: 0, process_interval_s: 1, watch: { enabled: false } }));
    s.git(a, 'remote', 'set-url', 'origin', join(s.dir, 'missing.git'));
    const start = await cli(s, a, ['daemon', 'start']);
    expect(start.code, start.stderr).toBe(0);
    daemonPid = Number(readFileSync(join(a, STATE_DIR, 'daemon.pid'), 'utf8').split('\n')[0]);

    expect((await cli(s, a, ['request-sync', 'smart', 'first', '--enqueue-only'])).code).toBe(0);
    await waitFor(() => lastFailure(a)?.count === 1, { what: 'the first failed sync' });
    expect(lastFailure(a)).toMatchObject({ code: 'ENOTFOUND', permanent: true });

    expect((await cli(s, a, ['request-sync', 'smart', 'second', '--enqueue-only'])).code).toBe(0);
    await waitFor(() => readFileSync(join(a, STATE_DIR, 'daemon.log'), 'utf8').includes('backing off'), { what: 'the daemon to back off' });
    expect(lastFailure(a)?.count).toBe(1);
    const st = JSON.parse((await cli(s, a, ['status', '--json'])).stdout);
    expect(st.backoff).toMatchObject({ failures: 1 });
    expect(st.queue.pending).toBeGreaterThanOrEqual(1);

    // A sync the user asks for by hand does not wait.
    const now = await cli(s, a, ['sync-now']);
    expect(now.code).toBe(1);
    expect(lastFailure(a)?.count).toBe(2);

    const stop = await cli(s, a, ['daemon', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    daemonPid = null;
  });
});
