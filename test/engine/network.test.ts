/**
 * Network faults against a real `git daemon` on 127.0.0.1: the remote goes down (local
 * commits keep accumulating, nothing is lost, the breaker opens after the threshold and
 * then skips the network), comes back (after the cooldown one half-open try pushes
 * everything and closes the breaker: the end of the cooldown is reached on the
 * coordinator's injected clock, not by waiting); and a URL to a missing repository
 * fails fast, without retries, saying what to fix.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.js';
import { processQueue } from '../../src/core/coordinator.js';
import { enqueue, newRequestId } from '../../src/core/queue.js';
import type { RequestOutcome } from '../../src/core/results.js';
import { buildStatus } from '../../src/core/status-view.js';
import { resolveWorkspace } from '../../src/git/workspace.js';
import { silentLogger } from '../../src/shared/log.js';
import { startGitDaemon, type GitDaemon } from '../helpers/git-daemon.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, lsTree, setupDevice, statusJson, testConfig } from './engine-helpers.js';

/**
 * A device's workspace in this process, for what the CLI cannot do: run the coordinator
 * on a clock of the test's choosing. git runs with the sandbox's HOME, as in the CLI.
 */
async function device(repo: string) {
  const ws = await inSandboxEnv(() => resolveWorkspace(repo));
  const config = await loadConfig(ws.paths.config);
  return {
    ws,
    config,
    /** What `sync-now` does (a manual, high request, processed at once), with the coordinator's clock at `at`. */
    async syncNowAt(at: number): Promise<RequestOutcome> {
      const id = newRequestId(at);
      await enqueue(ws.paths.queue, {
        id,
        type: 'manual',
        caller: 'sync-now',
        priority: 'high',
        reason: 'sync-now',
        created_at: new Date(at).toISOString(),
        pid: process.pid,
      });
      const report = await inSandboxEnv(() =>
        processQueue({ ws, config, logger: silentLogger, caller: 'sync-now', lockTimeoutMs: config.lock_timeout_ms, clock: () => at }),
      );
      const outcome = report.outcomes.get(id);
      if (!outcome) throw new Error('the request was not served');
      return outcome;
    },
  };
}

let sandboxEnv: NodeJS.ProcessEnv = {};
async function inSandboxEnv<T>(fn: () => Promise<T>): Promise<T> {
  const keys = ['HOME', 'GIT_CONFIG_NOSYSTEM'] as const;
  const saved = keys.map((k) => process.env[k]);
  for (const k of keys) process.env[k] = sandboxEnv[k];
  try {
    return await fn();
  } finally {
    keys.forEach((k, i) => {
      if (saved[i] === undefined) delete process.env[k];
      else process.env[k] = saved[i];
    });
  }
}

describe('remote down, circuit breaker, missing repository', () => {
  let sb: Sandbox;
  let daemon: GitDaemon;
  let a: string;

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-net-');
    sandboxEnv = sb.env;
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
    // A cooldown no run of this test can outlast: the CLI runs below check the open state
    // on the real clock; the end of the cooldown is reached on the coordinator's clock.
    await setupDevice(sb, a, testConfig('devA', { breaker: { failure_threshold: 2, cooldown_s: 3600 } }));
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

    // Remote back. 1 ms before the cooldown ends the breaker still skips the network;
    // at its end it reads half-open, and one half-open try pushes everything.
    await daemon.start();
    const until = Date.parse(open.breaker.open_until ?? '');
    expect(until).toBeGreaterThan(Date.now() + 3_000_000); // the 3600 s cooldown, from the real clock
    const dev = await device(a);
    expect((await buildStatus(dev.ws, dev.config, until - 1)).breaker.state).toBe('open');
    const early = await dev.syncNowAt(until - 1);
    expect(early).toMatchObject({ exit_code: 1 });
    expect(early.message).toMatch(/remote "origin" unavailable until/);
    expect(sb.git(a, 'rev-list', '--count', 'origin/main..HEAD').trim()).toBe('3');
    expect((await buildStatus(dev.ws, dev.config, until)).breaker.state).toBe('half-open');
    const back = await dev.syncNowAt(until);
    expect(back.exit_code, back.message).toBe(0);
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
