/** The doctor's pure judgements, against captured git output and edge values. */
import { describe, expect, it } from 'vitest';
import { GitError } from '../../src/git/git-error.js';
import { judgeBranch, type BranchFacts } from '../../src/doctor/branch.js';
import { judgeDaemon } from '../../src/doctor/daemon.js';
import { judgeDisk } from '../../src/doctor/disk.js';
import type { DaemonState } from '../../src/core/daemon-state.js';
import { judgeGitVersion, parseGitVersion } from '../../src/doctor/git-version.js';
import { countWatchTargets, judgeInotify, SYSCTL_FIX } from '../../src/doctor/inotify.js';
import { judgeLock } from '../../src/doctor/lock.js';
import { judgeQueue } from '../../src/doctor/queue.js';
import { judgeRepoOps } from '../../src/doctor/repo-ops.js';
import { judgeRemoteFailure, parseHeads } from '../../src/doctor/remote.js';
import { humanReport } from '../../src/doctor/format.js';
import { identOf } from '../../src/doctor/identity.js';
import { shellWord } from '../../src/shared/shell-word.js';
import type { SyncRequest } from '../../src/core/request.js';

describe('git version', () => {
  it('parses the forms git prints', () => {
    expect(parseGitVersion('git version 2.39.5\n')).toEqual([2, 39, 5]);
    expect(parseGitVersion('git version 2.45.1.windows.1')).toEqual([2, 45, 1]);
    expect(parseGitVersion('git version 2.39.3 (Apple Git-146)')).toEqual([2, 39, 3]);
    expect(parseGitVersion('git version 3.0')).toEqual([3, 0, 0]);
    expect(parseGitVersion('nonsense')).toBeNull();
  });
  it('fails below 2.20, warns below 2.36, ok from 2.36', () => {
    expect(judgeGitVersion('git version 2.19.9').status).toBe('fail');
    expect(judgeGitVersion('git version 1.9.0').status).toBe('fail');
    expect(judgeGitVersion('git version 2.20.0').status).toBe('warn');
    expect(judgeGitVersion('git version 2.35.9').status).toBe('warn');
    expect(judgeGitVersion('git version 2.36.0')).toMatchObject({ status: 'ok', message: 'git 2.36.0', fix: null });
    expect(judgeGitVersion('git version 3.1.0').status).toBe('ok');
  });
});

describe('remote failures', () => {
  const err = (stderr: string, kind: GitError['kind'] = 'exit') => new GitError(['ls-remote'], kind === 'timeout' ? -1 : 128, '', stderr, kind);
  it('classifies auth, not found, bad URL, network and a timeout, each with its fix', () => {
    const auth = judgeRemoteFailure(
      err('git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.\n'),
      'origin',
      'git@github.com:me/x.git',
    );
    expect(auth).toMatchObject({ status: 'fail' });
    expect(auth.message).toMatch(/^authentication to remote "origin"/);
    expect(auth.fix).toMatch(/credentials/);
    const missing = judgeRemoteFailure(
      err("fatal: '/tmp/x.git' does not appear to be a git repository\nfatal: Could not read from remote repository.\n"),
      'origin',
      '/tmp/x.git',
    );
    expect(missing.message).toMatch(/repository not found/);
    expect(missing.fix).toMatch(/git remote set-url origin <url>/);
    const daemon = judgeRemoteFailure(err('fatal: remote error: access denied or repository not exported: /x.git\n'), 'origin', 'git://h/x.git');
    expect(daemon.message).toMatch(/repository not found/);
    const bad = judgeRemoteFailure(err("fatal: protocol 'foo' is not supported\n"), 'up stream', 'foo://x');
    expect(bad.fix).toBe("fix the URL: git remote set-url 'up stream' <url>");
    const net = judgeRemoteFailure(
      err("fatal: unable to access 'https://example.invalid/x.git/': Could not resolve host: example.invalid\n"),
      'origin',
      'https://example.invalid/x.git',
    );
    expect(net.message).toMatch(/unreachable: network/);
    const slow = judgeRemoteFailure(err('', 'timeout'), 'origin', 'ssh://h/x.git', 10_000);
    expect(slow.message).toMatch(/did not answer within 10 s/);
  });
  it('never shows a token embedded in the URL', () => {
    const r = judgeRemoteFailure(err('fatal: Authentication failed for https://me:s3cret@h/x.git\n'), 'origin', 'https://me:s3cret@h/x.git');
    expect(r.message).not.toContain('s3cret');
  });
  it('parses ls-remote --heads', () => {
    expect(parseHeads('a1\trefs/heads/main\nb2\trefs/heads/feature/x\n')).toEqual(['main', 'feature/x']);
    expect(parseHeads('')).toEqual([]);
  });
});

describe('branch', () => {
  const facts = (f: Partial<BranchFacts>): BranchFacts => ({
    branch: 'main',
    configuredBranch: null,
    remote: 'origin',
    upstream: null,
    remoteHeads: null,
    trackingRefExists: false,
    ...f,
  });
  it('detached HEAD and a branch other than the configured one fail', () => {
    expect(judgeBranch(facts({ branch: null }))).toMatchObject({ status: 'fail', fix: 'git switch <branch>' });
    expect(judgeBranch(facts({ configuredBranch: 'work' }))).toMatchObject({ status: 'fail' });
  });
  it('an upstream, or the branch on the remote, is ok; neither warns with git push -u', () => {
    expect(judgeBranch(facts({ upstream: 'origin/main', remoteHeads: ['main'] })).status).toBe('ok');
    expect(judgeBranch(facts({ remoteHeads: ['main'] })).status).toBe('ok');
    expect(judgeBranch(facts({ trackingRefExists: true })).status).toBe('ok');
    expect(judgeBranch(facts({ remoteHeads: ['other'] }))).toMatchObject({ status: 'warn', fix: 'git push -u origin main  (if this is the branch to sync)' });
  });
});

describe('inotify', () => {
  it('counts files and every directory holding them once', () => {
    expect(countWatchTargets(['a', 'b/c', 'b/d/e', 'b/d/f', ''])).toEqual({ files: 4, dirs: 3 }); // '', b, b/d
  });
  it('needs one watch per directory (not per file); warns above 80% of the limit, with the sysctl fix', () => {
    expect(judgeInotify(1000, 50_000, 800).status).toBe('ok');
    const w = judgeInotify(1000, 700, 850);
    expect(w.status).toBe('warn');
    expect(w.fix).toBe(SYSCTL_FIX);
    expect(w.message).toMatch(/850 needed \(one per directory: 850 directories holding 700 files\) of a limit of 1000 \(85%\)/);
  });
});

describe('daemon', () => {
  const info = { running: true, pid: 7, since: '2024-01-01T00:00:00.000Z', stalePidFile: false };
  const now = Date.parse('2024-01-01T01:00:00.000Z');
  const state = (over: Partial<DaemonState>): DaemonState => ({
    version: 1,
    pid: 7,
    started_at: info.since,
    updated_at: info.since,
    stopped_at: null,
    watcher: { mode: 'native', watching: true, pending: 0, lastEventAt: null, lastFireAt: null, error: null },
    watcher_error: null,
    last_cycle_at: new Date(now - 10_000).toISOString(),
    last_process: null,
    last_health: null,
    last_stuck: null,
    paused_reason: null,
    log_error: null,
    config_error: null,
    ...over,
  });
  it('not running, stale pid file, running', () => {
    expect(judgeDaemon({ running: false, pid: null, since: null, stalePidFile: false }, null, 30, now).status).toBe('warn');
    expect(judgeDaemon({ running: false, pid: null, since: null, stalePidFile: true }, null, 30, now).message).toMatch(/gone/);
    expect(judgeDaemon(info, state({}), 30, now)).toMatchObject({ status: 'ok', message: 'running (pid 7, since 2024-01-01T00:00:00.000Z), watcher native' });
    // A state file of another (earlier) daemon is not trusted.
    expect(judgeDaemon(info, state({ pid: 8, paused_reason: 'x' }), 30, now).status).toBe('ok');
  });
  it('warns on a watcher fallback (with the sysctl fix), paused syncs, a failed health check, a hung loop', () => {
    const fallback = judgeDaemon(
      info,
      state({
        watcher: { mode: 'git-status', watching: true, pending: 0, lastEventAt: null, lastFireAt: null, error: 'ENOSPC: native file watching unavailable' },
      }),
      30,
      now,
    );
    expect(fallback.status).toBe('warn');
    expect(fallback.fix).toContain(SYSCTL_FIX);
    expect(judgeDaemon(info, state({ paused_reason: 'low disk space' }), 30, now).message).toMatch(/paused: low disk space/);
    expect(
      judgeDaemon(
        info,
        state({
          last_health: {
            at: 'x',
            ok: false,
            problems: ['git fsck failed'],
            disk: { free_bytes: null, min_free_bytes: 0, ok: true, error: null },
            git: { ok: false, check: 'fsck', ms: 1, error: 'e' },
            lock: { held: false, stale: false, owner_pid: null, owner_caller: null },
          },
        }),
        30,
        now,
      ).message,
    ).toMatch(/git fsck failed/);
    expect(judgeDaemon(info, state({ last_cycle_at: new Date(now - 20 * 60_000).toISOString() }), 30, now).message).toMatch(/may be hung/);
    const badConfig = judgeDaemon(info, state({ config_error: 'config.json: unknown key "debounce"' }), 30, now);
    expect(badConfig).toMatchObject({ status: 'warn' });
    expect(badConfig.message).toMatch(/previous configuration.*unknown key "debounce"/);
  });
});

describe('disk space', () => {
  it('fails below 100 MB, warns below 1 GB', () => {
    expect(judgeDisk(50 * 1024 ** 2, '/w').status).toBe('fail');
    expect(judgeDisk(500 * 1024 ** 2, '/w').status).toBe('warn');
    expect(judgeDisk(5 * 1024 ** 3, '/w')).toMatchObject({ status: 'ok', message: '5.0 GB free on the file system of /w' });
  });
});

describe('lock', () => {
  const owner = {
    caller: 'x',
    pid: 42,
    start_time: '1',
    boot_id: null,
    host: 'h',
    op: null,
    since: new Date(0).toISOString(),
    token: 't',
    lock_ino: 1,
    lock_birthtime_ms: 0,
  };
  it('free, dead owner, ownerless stale, live and long-held', () => {
    expect(judgeLock({ held: false, stale: false, owner: null, ownerLiveness: null, ageMs: null }, 600).status).toBe('ok');
    expect(judgeLock({ held: true, stale: true, owner, ownerLiveness: 'dead', ageMs: 5 }, 600)).toMatchObject({
      status: 'warn',
      fix: 'sync-coordinator release-lock x',
    });
    expect(judgeLock({ held: true, stale: true, owner: null, ownerLiveness: null, ageMs: 50_000 }, 600).status).toBe('warn');
    const since = new Date(1_000_000).toISOString();
    expect(judgeLock({ held: true, stale: false, owner: { ...owner, since }, ownerLiveness: 'alive', ageMs: 5 }, 600, 1_000_000 + 5_000).status).toBe('ok');
    expect(judgeLock({ held: true, stale: false, owner: { ...owner, since }, ownerLiveness: 'alive', ageMs: 5 }, 600, 1_000_000 + 700_000)).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('kill 42'),
    });
  });
});

describe('queue', () => {
  const req = (createdMsAgo: number, extra: Partial<SyncRequest> = {}, now = 10_000_000): SyncRequest => ({
    id: 'i',
    type: 'smart',
    caller: 'c',
    priority: 'normal',
    reason: '',
    created_at: new Date(now - createdMsAgo).toISOString(),
    pid: 1,
    ...extra,
  });
  it('counts pending and deferred; warns when the oldest waits for more than 10 minutes', () => {
    const now = 10_000_000;
    expect(judgeQueue({ requests: [req(1000), req(2000, { deferred_until: new Date(now + 60_000).toISOString() })], unreadable: 0 }, false, now)).toMatchObject(
      { status: 'ok', message: '2 pending, 1 deferred by the rate limit' },
    );
    expect(judgeQueue({ requests: [req(20 * 60_000)], unreadable: 0 }, false, now)).toMatchObject({
      status: 'warn',
      fix: 'sync-coordinator process, or sync-coordinator daemon start',
    });
    // A request deferred by the rate limit may wait: not stuck.
    expect(judgeQueue({ requests: [req(20 * 60_000, { deferred_until: new Date(now + 60_000).toISOString() })], unreadable: 0 }, false, now).status).toBe('ok');
    expect(judgeQueue({ requests: [req(1, { rejected_at: 'x' })], unreadable: 0 }, false, now).message).toBe('0 pending');
  });
});

describe('repository', () => {
  const rebase = [{ path: '/r/.git/rebase-merge', what: 'a rebase' }];
  it("the user's rebase says how to finish or abort it; one an older version's interrupted sync left says how to abort it", () => {
    expect(judgeRepoOps([], 0, null).status).toBe('ok');
    expect(judgeRepoOps(rebase, 0, null)).toMatchObject({ status: 'warn', fix: 'finish it (git rebase --continue) or abort it (git rebase --abort)' });
    const marker = {
      op: 'op1',
      type: 'smart' as const,
      step: 'integrate',
      started_at: 'x',
      pid: 1,
      start_time: null,
      branch: 'main',
      backup_ref: 'refs/sync-coordinator/backup/op1',
      integrating: 'rebase' as const,
      request_ids: [],
    };
    const ours = judgeRepoOps(rebase, 0, marker);
    expect(ours.message).toMatch(/left by interrupted sync op op1; started by an older version/);
    expect(ours.fix).toBe('abort it: git rebase --abort (or git merge --abort)');
    expect(judgeRepoOps([], 2, null).message).toMatch(/2 unmerged/);
  });
});

describe('output', () => {
  it('human lines strip control characters and show the fix under a non-ok check', () => {
    const lines = humanReport([
      { name: 'a', status: 'ok', message: 'fine', fix: null },
      { name: 'remote', status: 'fail', message: 'git said: \u001b[31mevil\u0007', fix: 'do\nthis' },
    ]);
    expect(lines[0]).toBe('ok    a       fine');
    expect(lines[1]).toBe('FAIL  remote  git said: [31mevil');
    expect(lines[2]).toBe('              fix: do\\nthis');
    expect(lines[3]).toBe('1 failed, 0 warnings, 1 ok');
  });
  it('shell words and identities', () => {
    expect(shellWord('auto-sync')).toBe('auto-sync');
    expect(shellWord("it's me")).toBe(`'it'\\''s me'`);
    expect(identOf('Test a <a@example.test> 1700000000 +0100\n')).toBe('Test a <a@example.test>');
  });
});
