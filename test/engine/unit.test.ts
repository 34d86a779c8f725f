/**
 * Pure parts of the sync engine: the failure table, conflict-copy names, push porcelain,
 * breaker transitions with a passed-in clock, marker checks, unmerged parsing, backup
 * pruning, the retry wrapper's contract with p-retry, and `status --porcelain=v2` parsing.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/shared/config.js';
import { breakerView, effectiveState, recordNetworkFailure, recordSuccess } from '../../src/core/breaker.js';
import { openConflicts } from '../../src/git/conflict-log.js';
import { GitLockedError, RemoteAccessError, RemoteUnavailableError, SyncFailedError } from '../../src/shared/errors.js';
import { withRetry } from '../../src/shared/retry.js';
import { backupTime, backupsToPrune } from '../../src/git/backup.js';
import { classifyOutput, toSyncError } from '../../src/git/classify.js';
import { conflictCopyName, conflictStamp, isConflictCopy, pickConflictCopyPath, splitName } from '../../src/git/conflict-copy.js';
import { GitError } from '../../src/git/git-error.js';
import { markerLines } from '../../src/git/markers.js';
import { parsePushPorcelain } from '../../src/git/push.js';
import { parseUnmerged, systemMatcher } from '../../src/git/tree-merge.js';
import { parseStatusV2Z, parseStatusZ, summarize } from '../../src/git/status.js';

describe('failure classification table', () => {
  // Texts captured from git 2.39 (LC_ALL=C) and common hosts.
  const cases: Array<[string, string]> = [
    ['fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused', 'network'],
    ["fatal: unable to access 'https://example.test/r.git/': Could not resolve host: example.test", 'network'],
    ['ssh: connect to host example.test port 22: Connection timed out\nfatal: Could not read from remote repository.', 'network'],
    ['fatal: the remote end hung up unexpectedly', 'network'],
    ['fatal: early EOF\nfatal: index-pack failed', 'network'],
    ['fatal: unable to look up nonexistent.invalid (port 9418) (Name or service not known)', 'network'],
    ["fatal: Unable to create '/r/.git/index.lock': File exists.\n\nAnother git process seems to be running in this repository", 'locked'],
    ['fatal: remote error: access denied or repository not exported: /missing.git', 'not-found'],
    ['fatal: remote error: no such repository: /missing.git', 'not-found'],
    ["fatal: '/tmp/nothere.git' does not appear to be a git repository\nfatal: Could not read from remote repository.", 'not-found'],
    ['ERROR: Repository not found.\nfatal: Could not read from remote repository.', 'not-found'],
    ["remote: Invalid username or password.\nfatal: Authentication failed for 'https://example.test/r.git/'", 'auth'],
    ['git@example.test: Permission denied (publickey).\nfatal: Could not read from remote repository.', 'auth'],
    ["fatal: could not read Username for 'https://example.test': terminal prompts disabled", 'auth'],
    ["fatal: protocol 'htps' is not supported", 'bad-remote'],
    ['CONFLICT (content): Merge conflict in f.txt', 'conflict'],
    ['fatal: something nobody has seen before', 'unknown'],
  ];
  it.each(cases)('%s → %s', (text, cls) => {
    expect(classifyOutput(text)).toBe(cls);
  });

  it('maps classes to typed errors: transient ones retryable, permanent ones say what to fix', () => {
    const remote = { remote: 'origin', url: 'https://user:secret@example.test/r.git' };
    const refused = toSyncError(new GitError(['fetch'], 128, '', 'fatal: unable to connect to x:\nerrno=Connection refused', 'exit'), {
      step: 'fetch',
      network: true,
      remote,
    });
    expect(refused).toBeInstanceOf(RemoteUnavailableError);
    expect((refused as RemoteUnavailableError).retryable).toBe(true);
    const missing = toSyncError(new GitError(['fetch'], 128, '', 'fatal: remote error: access denied or repository not exported: /missing.git', 'exit'), {
      step: 'fetch',
      network: true,
      remote,
    });
    expect(missing).toBeInstanceOf(RemoteAccessError);
    expect((missing as RemoteAccessError).retryable).toBe(false);
    expect((missing as Error).message).toMatch(/git remote set-url origin/);
    expect((missing as Error).message).not.toMatch(/secret/);
    const locked = toSyncError(new GitError(['add'], 128, '', "fatal: Unable to create '/r/.git/index.lock': File exists.", 'exit'), {
      step: 'commit',
      network: false,
    });
    expect(locked).toBeInstanceOf(GitLockedError);
    // A network command that hit our deadline is a network failure; a local one is not.
    expect(toSyncError(new GitError(['fetch'], -1, '', '', 'timeout'), { step: 'fetch', network: true })).toBeInstanceOf(RemoteUnavailableError);
    expect(toSyncError(new GitError(['commit'], -1, '', '', 'timeout'), { step: 'commit', network: false })).toBeInstanceOf(SyncFailedError);
  });
});

describe('conflict-copy names', () => {
  const stamp = conflictStamp(new Date(Date.UTC(2026, 7, 18, 17, 36, 36)));
  it('formats the time as YYYYMMDD-HHMMSS in UTC', () => {
    expect(stamp).toBe('20260818-173636');
  });
  it.each([
    ['notes.txt', 'notes.sync-conflict-20260818-173636-laptop.txt'],
    ['dir/sub/report.final.md', 'dir/sub/report.final.sync-conflict-20260818-173636-laptop.md'],
    ['Makefile', 'Makefile.sync-conflict-20260818-173636-laptop'],
    ['.bashrc', '.bashrc.sync-conflict-20260818-173636-laptop'],
    ['cfg/.env.local', 'cfg/.env.sync-conflict-20260818-173636-laptop.local'],
    ['-rf', '-rf.sync-conflict-20260818-173636-laptop'],
    ['trailing.', 'trailing..sync-conflict-20260818-173636-laptop'],
    ['a.b/noext', 'a.b/noext.sync-conflict-20260818-173636-laptop'],
    ['new\nline.txt', 'new\nline.sync-conflict-20260818-173636-laptop.txt'],
  ])('%j → %j', (path, copy) => {
    expect(conflictCopyName(path, stamp, 'laptop')).toBe(copy);
    expect(isConflictCopy(copy)).toBe(true);
  });
  it('adds -2, -3 when the name is taken', () => {
    const taken = new Set(['n.sync-conflict-20260818-173636-pc.txt', 'n.sync-conflict-20260818-173636-pc-2.txt']);
    expect(pickConflictCopyPath('n.txt', stamp, 'pc', (p) => taken.has(p))).toBe('n.sync-conflict-20260818-173636-pc-3.txt');
  });
  it('splits names', () => {
    expect(splitName('.gitignore')).toEqual({ stem: '.gitignore', ext: '' });
    expect(splitName('a.tar.gz')).toEqual({ stem: 'a.tar', ext: 'gz' });
    expect(isConflictCopy('notes.txt')).toBe(false);
  });
});

describe('push porcelain', () => {
  const ref = 'refs/heads/main';
  it('reads the per-ref status, not the exit code or prose', () => {
    expect(parsePushPorcelain('To /r.git\n \tHEAD:refs/heads/main\t1111111..2222222\nDone\n', ref)?.status).toBe('ok');
    expect(parsePushPorcelain('To /r.git\n*\tHEAD:refs/heads/main\t[new branch]\nDone\n', ref)?.status).toBe('ok');
    expect(parsePushPorcelain('To /r.git\n=\tHEAD:refs/heads/main\t[up to date]\nDone\n', ref)?.status).toBe('up-to-date');
    expect(parsePushPorcelain('To /r.git\n!\tHEAD:refs/heads/main\t[rejected] (fetch first)\nDone\n', ref)?.status).toBe('rejected-non-ff');
    expect(parsePushPorcelain('To /r.git\n!\tHEAD:refs/heads/main\t[rejected] (non-fast-forward)\nDone\n', ref)?.status).toBe('rejected-non-ff');
    expect(parsePushPorcelain('To /r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)\nDone\n', ref)?.status).toBe(
      'remote-rejected',
    );
    // Two pushes at the same moment: the server could not lock the ref. Transient.
    expect(parsePushPorcelain('To /r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)\nDone\n', ref)?.status).toBe('remote-busy');
    // A hook that prints "fetch first" does not make a rejection of another ref ours.
    expect(parsePushPorcelain('remote: please fetch first\nTo /r.git\n!\tHEAD:refs/heads/other\t[rejected] (fetch first)\n', ref)).toBeNull();
  });
});

describe('breaker transitions (clock passed in)', () => {
  const config: Config = { ...defaultConfig(), breaker: { failure_threshold: 3, cooldown_s: 60 } };
  const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
  it('opens after the threshold, half-opens after the cooldown, closes on success', () => {
    let b = recordNetworkFailure(undefined, config, t0, 'refused');
    expect(effectiveState(b, t0)).toBe('closed');
    b = recordNetworkFailure(b, config, t0 + 1000, 'refused');
    expect(effectiveState(b, t0 + 1000)).toBe('closed');
    b = recordNetworkFailure(b, config, t0 + 2000, 'refused');
    expect(effectiveState(b, t0 + 2000)).toBe('open');
    expect(breakerView(b, config, t0 + 2000)).toEqual({ state: 'open', failures: 3, open_until: new Date(t0 + 62_000).toISOString() });
    expect(effectiveState(b, t0 + 61_999)).toBe('open');
    expect(effectiveState(b, t0 + 62_000)).toBe('half-open');
    // The half-open probe fails: open again for a full cooldown.
    const reopened = recordNetworkFailure(b, config, t0 + 70_000, 'refused');
    expect(effectiveState(reopened, t0 + 70_001)).toBe('open');
    expect(effectiveState(reopened, t0 + 130_000)).toBe('half-open');
    expect(effectiveState(recordSuccess(), t0 + 130_000)).toBe('closed');
  });
  it('a clock that went backwards does not keep it open', () => {
    const b = recordNetworkFailure(recordNetworkFailure(recordNetworkFailure(undefined, config, t0, 'x'), config, t0, 'x'), config, t0, 'x');
    expect(effectiveState(b, t0 - 3_600_000)).toBe('half-open');
  });
});

describe('conflict markers', () => {
  it('finds marker lines and ignores look-alikes', () => {
    expect(markerLines('a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> abc (x)\n')).toEqual(['<<<<<<< HEAD', '=======', '>>>>>>> abc (x)']);
    expect(markerLines('<<<<<<<<< not\n======== eight\n<<<<<<<x\n')).toEqual([]);
  });
});

describe('unmerged entries of a private-index merge', () => {
  const out = [
    '100644 aaa 1\tf.txt',
    '100644 bbb 2\tf.txt',
    '100644 ccc 3\tf.txt',
    '100644 ddd 1\tdel me.txt',
    '100644 eee 3\tdel me.txt',
    '100644 fff 2\t.claude/settings.json',
    '100644 ggg 3\t.claude/settings.json',
    '',
  ].join('\0');
  const u = parseUnmerged(out);
  it('groups stages per path', () => {
    expect(u.map((x) => x.path)).toEqual(['f.txt', 'del me.txt', '.claude/settings.json']);
    expect(u[1]).toEqual({ path: 'del me.txt', base: { mode: '100644', sha: 'ddd' }, local: { mode: '100644', sha: 'eee' } });
  });
  it('reads stage 2 as the remote side and stage 3 as the local side (read-tree -m base remote local)', () => {
    expect(u[0]).toEqual({
      path: 'f.txt',
      base: { mode: '100644', sha: 'aaa' },
      remote: { mode: '100644', sha: 'bbb' },
      local: { mode: '100644', sha: 'ccc' },
    });
  });
  it('tells system files from user files by the globs (dotfiles included)', () => {
    const isSystem = systemMatcher(['.claude/**']);
    expect(u.filter((x) => isSystem(x.path)).map((x) => x.path)).toEqual(['.claude/settings.json']);
  });
});

describe('status --porcelain=v1 -z (captured from git 2.39)', () => {
  it('reads every entry, renames with their source', () => {
    const out = 'AM d/e\0 D del.txt\0 M mod.txt\0R  new name.txt\0old.txt\0?? un tracked.md\0';
    expect(parseStatusZ(out)).toEqual([
      { x: 'A', y: 'M', path: 'd/e' },
      { x: ' ', y: 'D', path: 'del.txt' },
      { x: ' ', y: 'M', path: 'mod.txt' },
      { x: 'R', y: ' ', path: 'new name.txt', origPath: 'old.txt' },
      { x: '?', y: '?', path: 'un tracked.md' },
    ]);
  });
  it('keeps odd names intact and reads empty output as clean', () => {
    expect(parseStatusZ('?? a\nb\0?? -x\0')).toEqual([
      { x: '?', y: '?', path: 'a\nb' },
      { x: '?', y: '?', path: '-x' },
    ]);
    expect(parseStatusZ('')).toEqual([]);
  });
});

describe('status --porcelain=v2 -z --branch (captured from git 2.39)', () => {
  const h = '78981922613b2afb6025042ff6bd878ac1994e85';
  const out = [
    '# branch.oid 369fc7fe231fdf08cd57b1ac189e355df2dd8fa9',
    '# branch.head main',
    `1 .M N... 100644 100644 100644 ${h} ${h} a.txt`,
    `1 .D N... 100644 100644 000000 ${h} ${h} gone.txt`,
    `2 R. N... 100644 100644 100644 ${h} ${h} R100 new name.txt`,
    'old.txt',
    `1 A. N... 000000 100644 100644 0000000000000000000000000000000000000000 ${h} -rf --force.txt`,
    `u UU N... 100644 100644 100644 100644 ${h} ${h} ${h} both edited.txt`,
    '? new\nline.txt',
    '',
  ].join('\0');
  it('reads HEAD, the branch and every entry in v1 terms (paths with spaces, newlines, dashes)', () => {
    const st = parseStatusV2Z(out);
    expect(st.head).toBe('369fc7fe231fdf08cd57b1ac189e355df2dd8fa9');
    expect(st.branch).toBe('main');
    expect(st.entries).toEqual([
      { x: ' ', y: 'M', path: 'a.txt' },
      { x: ' ', y: 'D', path: 'gone.txt' },
      { x: 'R', y: ' ', path: 'new name.txt', origPath: 'old.txt' },
      { x: 'A', y: ' ', path: '-rf --force.txt' },
      { x: 'U', y: 'U', path: 'both edited.txt' },
      { x: '?', y: '?', path: 'new\nline.txt' },
    ]);
    expect(summarize(st.entries)).toEqual({
      added: ['-rf --force.txt', 'new\nline.txt'],
      modified: ['a.txt', 'both edited.txt'],
      deleted: ['gone.txt'],
      renamed: ['new name.txt'],
    });
  });
  it('knows an unborn branch and a detached HEAD', () => {
    expect(parseStatusV2Z('# branch.oid (initial)\0# branch.head main\0')).toEqual({ head: null, branch: 'main', entries: [] });
    expect(parseStatusV2Z(`# branch.oid ${h}\0# branch.head (detached)\0`)).toEqual({ head: h, branch: null, entries: [] });
  });
  it('refuses output without the branch header rather than guess the branch', () => {
    expect(() => parseStatusV2Z('? x\0')).toThrow(/branch header/);
  });
});

describe('backup pruning', () => {
  const day = 86_400_000;
  const now = Date.UTC(2026, 5, 30, 12, 0, 0);
  const P = 'refs/sync-coordinator/backup/';
  it('reads the creation time from the op id', () => {
    expect(backupTime(`${P}20260630-115959-abcdef`)).toBe(Date.UTC(2026, 5, 30, 11, 59, 59));
    expect(backupTime(`${P}20260630-115959-abcdef-2`)).toBe(Date.UTC(2026, 5, 30, 11, 59, 59));
    expect(backupTime(`${P}something-else`)).toBeNull();
  });
  it("prunes by count and age, keeps the current op, keeps an op's refs together", () => {
    const rows = [
      `${P}20260630-110000-aaaaaa`,
      `${P}20260630-110000-aaaaaa-2`,
      `${P}20260629-110000-bbbbbb`,
      `${P}20260601-110000-cccccc`,
      `${P}20260101-110000-dddddd`,
      `${P}20260101-110000-dddddd-worktree`,
    ].map((ref) => ({ ref, time: backupTime(ref) }));
    expect(backupsToPrune(rows, 50, 14, now, null).sort()).toEqual([
      `${P}20260101-110000-dddddd`,
      `${P}20260101-110000-dddddd-worktree`,
      `${P}20260601-110000-cccccc`,
    ]);
    // The current op is ranked newest and counts toward keep (keep = 1: only it stays).
    expect(backupsToPrune(rows, 1, 365, now, '20260101-110000-dddddd').sort()).toEqual([
      `${P}20260601-110000-cccccc`,
      `${P}20260629-110000-bbbbbb`,
      `${P}20260630-110000-aaaaaa`,
      `${P}20260630-110000-aaaaaa-2`,
    ]);
    expect(backupsToPrune(rows, 50, 365, now - 400 * day, null)).toEqual([]);
  });
  it('three ops in the same second with keep = 2 keep exactly two, the current one among them', () => {
    const same = ['111111', '222222', '333333'].map((x) => `${P}20260630-115959-${x}`);
    const rows = same.map((ref) => ({ ref, time: backupTime(ref) }));
    for (const cur of ['111111', '222222', '333333']) {
      const doomed = backupsToPrune(rows, 2, 14, now, `20260630-115959-${cur}`);
      expect(doomed).toHaveLength(1);
      expect(doomed).not.toContain(`${P}20260630-115959-${cur}`);
    }
  });
});

describe('conflicts.log open records', () => {
  it('copy-created and left-for-user are open until resolved; kept-modified is not', () => {
    const lines = [
      { time: 't', op: 'o', path: 'a', policy: 'conflict-copy', outcome: 'copy-created', copy_path: 'a.c', kind: 'content', device: 'd' },
      { time: 't', op: 'o', path: 'b', policy: 'conflict-copy', outcome: 'kept-modified', copy_path: null, kind: 'delete-modify', device: 'd' },
      { time: 't', op: 'o', path: 'c', policy: 'manual', outcome: 'left-for-user', copy_path: null, kind: 'content', device: 'd' },
      { time: 't', resolved: 'a' },
    ];
    expect(openConflicts(lines.map((l) => JSON.stringify(l)).join('\n')).map((c) => c.path)).toEqual(['c']);
  });
});

describe('retry wrapper (p-retry 7)', () => {
  const policy = { retries: 3, minDelayMs: 1, maxDelayMs: 2, maxRetryTimeMs: 10_000 };
  it('retries transient failures, then succeeds; onRetry counts the retries made', async () => {
    let calls = 0;
    let retried = 0;
    const v = await withRetry(
      't',
      async () => {
        calls++;
        if (calls < 3) throw new RemoteUnavailableError('refused');
        return 'ok';
      },
      { policy, notice: null, onRetry: () => retried++ },
    );
    expect(v).toBe('ok');
    expect(calls).toBe(3);
    expect(retried).toBe(2);
  });
  it('fails at once on a permanent error and rejects with the original error (not AbortError)', async () => {
    let calls = 0;
    const err = await withRetry(
      't',
      async () => {
        calls++;
        throw new RemoteAccessError('not found', { code: 'ENOTFOUND', hint: 'x' });
      },
      { policy },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(err).toBeInstanceOf(RemoteAccessError);
  });
  it('classifies raw failures first and gives up after the budget', async () => {
    let calls = 0;
    let retried = 0;
    const err = await withRetry(
      't',
      async () => {
        calls++;
        throw new GitError(['fetch'], 128, '', 'fatal: the remote end hung up unexpectedly', 'exit');
      },
      { policy, classify: (e) => toSyncError(e, { step: 'fetch', network: true }), notice: null, onRetry: () => retried++ },
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(retried).toBe(3); // the last failure is not followed by a retry
    expect(err).toBeInstanceOf(RemoteUnavailableError);
  });
});
