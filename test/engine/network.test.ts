/**
 * Network faults against a real `git daemon` on 127.0.0.1: the remote goes down (local
 * commits keep accumulating, nothing is lost, the breaker opens after the threshold and
 * then skips the network), comes back (after the cooldown one half-open try pushes
 * everything and closes the breaker); and a URL to a missing repository fails fast,
 * without retries, saying what to fix.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { startGitDaemon, type GitDaemon } from '../helpers/git-daemon.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, lsTree, setupDevice, statusJson, testConfig } from './engine-helpers.js';

describe('remote down, circuit breaker, missing repository', () => {
  let sb: Sandbox;
  let daemon: GitDaemon;
  let a: string;

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-net-');
    daemon = await startGitDaemon(sb.dir, sb.env);
    a = sb.clone('a');
    sb.git(a, 'remote', 'set-url', 'origin', daemon.url('remote.git'));
    sb.git(a, 'fetch', '-q', 'origin');
  });
  afterAll(async () => {
    await daemon?.stop();
    sb?.cleanup();
  });

  it('keeps committing while the remote is down, opens the breaker, and catches up after the cooldown', async () => {
    // The cooldown must outlast the three CLI runs that check the open state: on a loaded
    // 2-core CI machine 2 s did not (the breaker was already half-open).
    await setupDevice(sb, a, testConfig('devA', { breaker: { failure_threshold: 2, cooldown_s: 8 } }));
    // The daemon works: a first sync pushes.
    writeFileSync(join(a, 'f0.txt'), 'zero\n');
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);

    await daemon.stop();
    const failures: string[] = [];
    for (const n of [1, 2]) {
      writeFileSync(join(a, `f${n}.txt`), `change ${n}\n`);
      const r = await cli(sb, a, ['sync-now']);
      expect(r.code, r.stderr).toBe(1);
      failures.push(r.stderr);
    }
    expect(failures[0]).toMatch(/committed locally, but .*unreachable/);
    const open = await statusJson(sb, a);
    expect(open.breaker.state).toBe('open');
    expect(open.breaker.failures).toBe(2);
    expect(open.breaker.open_until).not.toBeNull();

    // While open: commit locally, skip the network, say so.
    writeFileSync(join(a, 'f3.txt'), 'change 3\n');
    const skipped = await cli(sb, a, ['sync-now']);
    expect(skipped.code).toBe(1);
    expect(skipped.stderr).toMatch(/committed locally; remote "origin" unavailable until \d{4}-/);
    // Nothing lost: three local commits ahead of the remote, clean work tree.
    expect(sb.git(a, 'rev-list', '--count', 'origin/main..HEAD').trim()).toBe('3');
    expect(sb.git(a, 'status', '--porcelain')).toBe('');

    // Remote back: after the cooldown one half-open try pushes everything.
    await daemon.start();
    await waitFor(async () => (await statusJson(sb, a)).breaker.state === 'half-open', { timeoutMs: 30_000, what: 'breaker half-open' });
    const back = await cli(sb, a, ['sync-now']);
    expect(back.code, back.stderr).toBe(0);
    const closed = await statusJson(sb, a);
    expect(closed.breaker).toEqual({ state: 'closed', failures: 0, open_until: null });
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(sb.git(a, 'rev-parse', 'HEAD').trim());
    const tree = lsTree(sb, sb.remote, 'main');
    for (const f of ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt']) expect(tree.has(f), f).toBe(true);
  });

  it('a remote URL to a missing repository fails fast and says what to fix', async () => {
    // Independent of the test above, which leaves the daemon stopped if it fails midway.
    await daemon.start();
    // Default retry settings (4 retries, 0.5 s..30 s): a retried failure would take 7.5 s or more.
    await setupDevice(sb, a, { device_name: 'devA', rate_limiting_enabled: false });
    sb.git(a, 'remote', 'set-url', 'origin', daemon.url('missing.git'));
    writeFileSync(join(a, 'g.txt'), 'g\n');
    const started = Date.now();
    const r = await cli(sb, a, ['sync-now']);
    const elapsed = Date.now() - started;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not found or is not exported/);
    expect(r.stderr).toMatch(/git remote set-url origin <url>/);
    expect(elapsed).toBeLessThan(6_000);
    // Not a network failure: the breaker does not count it.
    expect((await statusJson(sb, a)).breaker.failures).toBe(0);

    // The same for a path that is not a repository.
    sb.git(a, 'remote', 'set-url', 'origin', join(sb.dir, 'nowhere.git'));
    const t2 = Date.now();
    const r2 = await cli(sb, a, ['sync-now']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/not found/);
    expect(Date.now() - t2).toBeLessThan(6_000);
  });
});
