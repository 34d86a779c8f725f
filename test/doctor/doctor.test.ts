/**
 * doctor against real repositories and a real bare remote (makeSandbox): what a
 * healthy set-up reports, the failures it must catch (no identity, a remote that is not
 * there), the --json shape, a dead lock owner, a stale daemon pid file, the user's merge
 * in progress, outside a work tree, and that it changes nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exited, runCli, waitFor } from '../helpers/cli.js';
import { snapshot } from '../helpers/snapshot.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { bootId, processStartTime } from '../../src/shared/process-identity.js';

let sb: Sandbox;
let repo: string;
const STATE = '.claude/sync-coordination';

beforeEach(() => {
  sb = makeSandbox('sc-doctor-');
  repo = sb.clone('a');
});
afterEach(() => sb.cleanup());

interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  fix: string | null;
}

const cli = (args: string[], cwd = repo) => runCli(args, { cwd, env: sb.env });
async function doctorJson(cwd = repo): Promise<{ code: number | null; ok: boolean; checks: Check[] }> {
  const r = await cli(['doctor', '--json'], cwd);
  const parsed = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
  return { code: r.code, ...parsed };
}
const byName = (checks: Check[], name: string): Check => {
  const c = checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check named ${name}: ${checks.map((x) => x.name).join(', ')}`);
  return c;
};

/** doctor --json once `until` holds for its checks (the daemon writes its state shortly after start). */
function waitForDoctor(until: (checks: Check[]) => boolean) {
  return waitFor(
    async () => {
      const r = await doctorJson();
      return until(r.checks) ? r : null;
    },
    { timeoutMs: 15_000, intervalMs: 200, what: 'doctor --json checks to match' },
  );
}

/** A pid that certainly belonged to a process that is gone now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await exited(child);
  return child.pid!;
}

describe('doctor', () => {
  it('a healthy sandbox (hooks installed, remote reachable, no daemon) exits 0 with one line per check and warns about the daemon', async () => {
    expect((await cli(['init'])).code).toBe(0);
    expect((await cli(['hooks', 'install'])).code).toBe(0);
    const r = await cli(['doctor']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^ok\s+git version\s+git \d+\.\d+/));
    expect(lines).toContainEqual(expect.stringMatching(/^ok\s+git identity\s+Test a <a@example\.test>/));
    expect(lines).toContainEqual(expect.stringMatching(/^ok\s+remote\s+"origin" .* reachable/));
    expect(lines).toContainEqual(expect.stringMatching(/^ok\s+branch\s+"main" tracks origin\/main/));
    expect(lines).toContainEqual(expect.stringMatching(/^ok\s+hooks\s+post-merge and pre-push installed/));
    expect(lines).toContainEqual(expect.stringMatching(/^warn\s+daemon\s+not running/));
    expect(lines).toContainEqual(expect.stringMatching(/^\s+fix: sync-coordinator daemon start/));
    expect(lines).toContainEqual(expect.stringMatching(/^ok\s+(state dir|config|lock|queue|corrupt files|disk space)\s/));
    expect(lines.at(-1)).toMatch(/^0 failed, 1 warning, \d+ ok$/);
  });

  it('a git lock file with no git running is reported with the command that removes it, and that command works', async () => {
    writeFileSync(join(repo, '.git', 'index.lock'), '');
    const { checks } = await doctorJson();
    const c = byName(checks, 'git lock files');
    expect(c.status).toBe('warn');
    expect(c.message).toContain('.git/index.lock');
    expect(c.fix).toMatch(/rm '\.git\/index\.lock'/);
    const fix = c.fix!.replace(/^.*then: /, '');
    expect(spawnSync('sh', ['-c', fix], { cwd: repo }).status).toBe(0);
    expect(byName((await doctorJson()).checks, 'git lock files').status).toBe('ok');
  });

  it('--json prints {"ok", "checks": [{"name","status","message","fix"}]}', async () => {
    const { code, ok, checks } = await doctorJson();
    expect(code).toBe(0);
    expect(ok).toBe(true);
    for (const c of checks) {
      expect(Object.keys(c).sort()).toEqual(['fix', 'message', 'name', 'status']);
      expect(['ok', 'warn', 'fail']).toContain(c.status);
      expect(typeof c.message).toBe('string');
      if (c.status === 'ok') expect(c.fix).toBeNull();
    }
    const names = checks.map((c) => c.name);
    for (const n of [
      'git version',
      'git identity',
      'remote',
      'branch',
      'repository',
      'hooks',
      'daemon',
      'user daemon',
      'inotify watches',
      'disk space',
      'state dir',
      'config',
      'lock',
      'queue',
      'corrupt files',
      'sync state',
      'conflicts',
    ]) {
      expect(names).toContain(n);
    }
    expect(byName(checks, 'hooks')).toMatchObject({ status: 'warn', fix: 'sync-coordinator hooks install' });
    expect(byName(checks, 'state dir')).toMatchObject({ status: 'warn', fix: 'sync-coordinator init' });
  });

  it('no identity (no user.name/email, empty global config): fails with the git config commands, exit 1', async () => {
    sb.git(repo, 'config', '--unset', 'user.name');
    sb.git(repo, 'config', '--unset', 'user.email');
    // git is the oracle: on a host whose name git can turn into an address it only guesses.
    const guess = spawnSync('git', ['var', 'GIT_AUTHOR_IDENT'], {
      cwd: repo,
      env: { PATH: process.env.PATH, HOME: sb.home, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' },
    });
    const r = await cli(['doctor']);
    const { code, checks } = await doctorJson();
    const id = byName(checks, 'git identity');
    expect(id.fix).toContain('git config --global user.name "Your Name"');
    expect(id.fix).toContain('git config --global user.email "you@example.com"');
    if (guess.status !== 0) {
      expect(id.status).toBe('fail');
      expect(id.message).toMatch(/does not know who commits/);
      expect(code).toBe(1);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAIL\s+git identity/m);
      expect(r.stdout).toMatch(/fix: git config --global user\.name/);
    } else {
      expect(id.status).toBe('warn');
      expect(id.message).toMatch(/user\.name and user\.email not set/);
    }
  });

  it('a remote URL pointing to a missing path fails quickly as "not found", exit 1', async () => {
    sb.git(repo, 'remote', 'set-url', 'origin', join(sb.dir, 'no-such-remote.git'));
    const started = Date.now();
    const { code, ok, checks } = await doctorJson();
    expect(Date.now() - started).toBeLessThan(8000);
    expect(code).toBe(1);
    expect(ok).toBe(false);
    const remote = byName(checks, 'remote');
    expect(remote.status).toBe('fail');
    expect(remote.message).toMatch(/not found/);
    expect(remote.fix).toMatch(/git remote set-url origin <url>/);
    // The branch check goes on without the remote's answer.
    expect(byName(checks, 'branch').status).toBe('ok');
  });

  it('a remote that never answers fails after the bounded time as a network problem', async () => {
    // An ssh that hangs: git runs it for the ssh:// URL; GIT_SSH_COMMAND is passed through the sanitized env.
    const fakeSsh = join(sb.dir, 'hanging-ssh');
    writeFileSync(fakeSsh, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    sb.git(repo, 'remote', 'set-url', 'origin', 'ssh://git@example.invalid/x.git');
    // The remote check's deadline is network_timeout_s (default 60), as for a sync.
    mkdirSync(join(repo, STATE), { recursive: true });
    writeFileSync(join(repo, STATE, 'config.json'), JSON.stringify({ network_timeout_s: 10 }));
    const started = Date.now();
    const r = await runCli(['doctor', '--json'], { cwd: repo, env: { ...sb.env, GIT_SSH_COMMAND: fakeSsh } });
    const elapsed = Date.now() - started;
    const { checks } = JSON.parse(r.stdout) as { checks: Check[] };
    expect(r.code).toBe(1);
    expect(byName(checks, 'remote').message).toMatch(/did not answer within 10 s/);
    expect(elapsed).toBeGreaterThanOrEqual(9_500);
    expect(elapsed).toBeLessThan(20_000);
  });

  it('no remote configured: fails with "git remote add"', async () => {
    sb.git(repo, 'remote', 'remove', 'origin');
    const { code, checks } = await doctorJson();
    expect(code).toBe(1);
    expect(byName(checks, 'remote')).toMatchObject({ status: 'fail', message: 'remote "origin" is not configured' });
    expect(byName(checks, 'remote').fix).toMatch(/^git remote add origin <url>/);
  });

  it('a lock held by a dead owner warns with the release-lock command, and doctor changes nothing', async () => {
    const dir = join(repo, STATE);
    mkdirSync(join(dir, 'queue'), { recursive: true });
    mkdirSync(join(dir, 'sync-coordinator.lock'));
    const st = statSync(join(dir, 'sync-coordinator.lock'));
    const pid = await deadPid();
    writeFileSync(
      join(dir, 'lock-owner.json'),
      JSON.stringify({
        caller: 'auto sync',
        pid,
        start_time: processStartTime(process.pid),
        boot_id: bootId(),
        host: hostname(),
        op: null,
        since: new Date().toISOString(),
        token: 't0ken',
        lock_ino: st.ino,
        lock_birthtime_ms: st.birthtimeMs,
      }),
    );
    // Also a corrupt queue file: reported, not moved aside (the next sync does that).
    writeFileSync(join(dir, 'queue', '0000000000001-1-deadbeef.json'), 'garbage{');
    writeFileSync(join(dir, 'coordinator-state.json.corrupt-2024-01-01T00-00-00-000Z'), '{');
    const before = snapshot(repo);
    const { code, checks } = await doctorJson();
    expect(code).toBe(0);
    const lock = byName(checks, 'lock');
    expect(lock.status).toBe('warn');
    expect(lock.message).toMatch(/dead owner "auto sync" \(pid \d+/);
    expect(lock.fix).toBe("sync-coordinator release-lock 'auto sync'");
    expect(byName(checks, 'queue')).toMatchObject({ status: 'warn' });
    expect(byName(checks, 'queue').message).toMatch(/1 unreadable/);
    expect(byName(checks, 'corrupt files').status).toBe('warn');
    expect(byName(checks, 'corrupt files').message).toMatch(/coordinator-state\.json\.corrupt-/);
    await cli(['doctor']);
    expect(snapshot(repo)).toEqual(before);
    // The suggested fix works.
    expect((await cli(['release-lock', 'auto sync'])).code).toBe(0);
    expect(byName((await doctorJson()).checks, 'lock')).toMatchObject({ status: 'ok', message: 'free' });
  });

  it('a running daemon with its native watcher is ok; all ok exits 0 with no warning', async () => {
    expect((await cli(['init'])).code).toBe(0);
    expect((await cli(['hooks', 'install'])).code).toBe(0);
    expect((await cli(['daemon', 'start'])).code).toBe(0);
    try {
      const { code, checks } = await waitForDoctor((c) => /watcher native/.test(byName(c, 'daemon').message));
      expect(code).toBe(0);
      expect(byName(checks, 'daemon').message).toMatch(/^running \(pid \d+, since .*\), watcher native$/);
      expect(byName(checks, 'user daemon').message).toMatch(/^running \(pid \d+\), serving this work tree \(running\)$/);
      expect(checks.filter((c) => c.status !== 'ok')).toEqual([]);
    } finally {
      await cli(['daemon', 'stop']);
    }
    // Still registered, daemon stopped: the doctor says how to start it again.
    expect(byName((await doctorJson()).checks, 'user daemon')).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/^registered \(id [0-9a-f]{12}\), but the user daemon is not running$/),
      fix: 'sync-coordinator daemon start',
    });
  });

  it('a daemon pid file whose process is gone is reported as stale', async () => {
    mkdirSync(join(repo, STATE), { recursive: true });
    writeFileSync(join(repo, STATE, 'daemon.pid'), `${await deadPid()}\n12345\n2024-01-01T00:00:00.000Z\n`);
    const daemon = byName((await doctorJson()).checks, 'daemon');
    expect(daemon.status).toBe('warn');
    expect(daemon.message).toMatch(/names a process that is gone/);
    expect(daemon.fix).toMatch(/^sync-coordinator daemon start/);
  });

  it("the user's merge in progress (with unmerged paths) is a warning with the commands to finish or abort it", async () => {
    const other = sb.clone('b');
    writeFileSync(join(other, 'README.md'), 'theirs\n');
    sb.git(other, 'commit', '-qam', 'theirs');
    sb.git(other, 'push', '-q');
    writeFileSync(join(repo, 'README.md'), 'ours\n');
    sb.git(repo, 'commit', '-qam', 'ours');
    spawnSync('git', ['pull', '-q', '--no-rebase'], { cwd: repo, env: sb.env });
    const c = byName((await doctorJson()).checks, 'repository');
    expect(c.status).toBe('warn');
    expect(c.message).toMatch(/a merge in progress \(not started by sync-coordinator\)/);
    expect(c.fix).toMatch(/git merge --abort/);
  });

  it('an invalid config fails and names the key; the other checks still run', async () => {
    mkdirSync(join(repo, STATE), { recursive: true });
    writeFileSync(join(repo, STATE, 'config.json'), JSON.stringify({ debounce_ms: 100, bogus_key: 1 }));
    const { code, checks } = await doctorJson();
    expect(code).toBe(1);
    expect(byName(checks, 'config').status).toBe('fail');
    expect(byName(checks, 'config').message).toMatch(/bogus_key/);
    expect(byName(checks, 'remote').status).toBe('ok');
  });

  it('no git on PATH: one failing line, exit 1', async () => {
    const r = await runCli(['doctor'], { cwd: repo, env: { ...sb.env, PATH: join(sb.dir, 'empty-bin') } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+git version\s+git is not on PATH/m);
  });

  it('a state directory that is a symlink fails and is not read through', async () => {
    const elsewhere = join(sb.dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'config.json'), '{ not json');
    mkdirSync(join(repo, '.claude'));
    symlinkSync(elsewhere, join(repo, STATE));
    const { code, checks } = await doctorJson();
    expect(code).toBe(1);
    expect(byName(checks, 'state dir').status).toBe('fail');
    expect(byName(checks, 'state dir').message).toMatch(/is a symlink/);
    expect(checks.map((c) => c.name)).not.toContain('config');
  });

  it('outside a git work tree: reports it and exits 6', async () => {
    const r = await cli(['doctor'], sb.home);
    expect(r.code).toBe(6);
    expect(r.stdout).toMatch(/^ok\s+git version/m);
    expect(r.stdout).toMatch(/^FAIL\s+work tree\s+not inside a git work tree/m);
  });
});
