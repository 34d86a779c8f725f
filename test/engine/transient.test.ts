/**
 * Transient local failures are retried with backoff (another git holding index.lock);
 * `robust` checks integrity first and verifies the remote tip after pushing.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, setupDevice, STATE_DIR, testConfig } from './engine-helpers.js';

describe('transient failures and robust syncs', () => {
  let sb: Sandbox;
  let a: string;

  beforeEach(async () => {
    sb = makeSandbox('sc-engine-transient-');
    a = sb.clone('a');
  });
  afterEach(() => sb?.cleanup());

  it('index.lock held by another git: retried with backoff, then the sync succeeds; the lock file is never removed by us', async () => {
    await setupDevice(sb, a, testConfig('devA', { retries: { default: 6, min_delay_ms: 200, max_delay_ms: 400 } }));
    writeFileSync(join(a, 'x.txt'), 'x\n');
    const lockFile = join(a, '.git', 'index.lock');
    writeFileSync(lockFile, '');
    const child = startCli(['sync-now'], { cwd: a, env: sb.env });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    const log = join(a, STATE_DIR, 'coordinator.log');
    await waitFor(() => existsSync(log) && /transient failure; retrying/.test(readFileSync(log, 'utf8')), { timeoutMs: 20_000, what: 'a logged retry' });
    expect(existsSync(lockFile)).toBe(true); // still the other git's
    rmSync(lockFile); // the other git finishes
    expect(await exited, stderr).toBe(0);
    expect(sb.git(sb.remote, 'ls-tree', '--name-only', 'main')).toContain('x.txt');
    expect(readFileSync(log, 'utf8')).toMatch(/EGITLOCKED/);
  });

  it('robust: integrity check first and the remote tip verified after the push', async () => {
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(a, 'r.txt'), 'robust\n');
    const ok = await cli(sb, a, ['request-sync', 'robust', 'test', '--wait', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).result).toBe('ok');
    expect(sb.git(sb.remote, 'rev-parse', 'main')).toBe(sb.git(a, 'rev-parse', 'HEAD'));
    expect(readFileSync(join(a, STATE_DIR, 'coordinator.log'), 'utf8')).not.toMatch(/"level":50/);

    // A missing object: the integrity check stops the sync before anything is built on it.
    const blobSha = sb.git(a, 'rev-parse', 'HEAD:r.txt').trim();
    const objects = join(a, '.git', 'objects', blobSha.slice(0, 2));
    const file = readdirSync(objects).find((f) => blobSha.endsWith(f));
    expect(file).toBeDefined();
    rmSync(join(objects, file!), { force: true });
    writeFileSync(join(a, 's.txt'), 's\n');
    const head = sb.git(a, 'rev-parse', 'HEAD');
    const bad = await cli(sb, a, ['request-sync', 'robust', 'test', '--wait']);
    expect(bad.code).toBe(1);
    expect(bad.stderr + bad.stdout).toMatch(/integrity check failed/);
    expect(sb.git(a, 'rev-parse', 'HEAD')).toBe(head);
  });
});
