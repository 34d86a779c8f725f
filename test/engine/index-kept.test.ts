/**
 * A failed sync leaves the user's index exactly as it found it (invariant 4's last
 * sentence): the commit is built from a private index, so a failing pre-commit or
 * commit-msg hook, or signing without a key, changes nothing of what the user staged.
 * Also the conflict shapes that used to go wrong: an amend of synced commits, and a file
 * on one device where the other made a directory of the same name.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { blob, cli, commitAll, conflictLog, lsTree, setupDevice, STATE_DIR, testConfig } from './engine-helpers.js';

describe('a failed sync keeps the user index', () => {
  let sb: Sandbox;
  let a: string;

  beforeEach(async () => {
    sb = makeSandbox('sc-engine-index-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA', { retries: { default: 3, min_delay_ms: 20, max_delay_ms: 40 } }));
    writeFileSync(join(a, 'A.txt'), 'a\n');
    writeFileSync(join(a, 'B.txt'), 'b\n');
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
  });
  afterEach(() => sb?.cleanup());

  /** The user staged only A.txt; B.txt is modified but unstaged; C.txt is untracked. */
  function userState(): { index: string; status: string } {
    writeFileSync(join(a, 'A.txt'), 'a staged\n');
    sb.git(a, 'add', 'A.txt');
    writeFileSync(join(a, 'A.txt'), 'a staged\nand more, unstaged\n');
    writeFileSync(join(a, 'B.txt'), 'b modified\n');
    writeFileSync(join(a, 'C.txt'), 'untracked\n');
    return { index: sb.git(a, 'ls-files', '-s', '--debug'), status: sb.git(a, 'status', '--porcelain=v2', '--untracked-files=all') };
  }

  function hook(name: string, body: string): void {
    writeFileSync(join(a, '.git', 'hooks', name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(a, '.git', 'hooks', name), 0o755);
  }

  const cases: Array<{ what: string; arrange: () => void; said: RegExp; code: string }> = [
    {
      what: 'a failing pre-commit hook',
      arrange: () => hook('pre-commit', 'echo "lint: trailing spaces in A.txt" >&2; exit 1'),
      said: /lint: trailing spaces in A\.txt/,
      code: 'EHOOK',
    },
    {
      what: 'a failing commit-msg hook',
      arrange: () => hook('commit-msg', 'echo "message must reference a ticket" >&2; exit 1'),
      said: /message must reference a ticket/,
      code: 'EHOOK',
    },
    {
      what: 'commit.gpgSign=true with no key',
      arrange: () => {
        sb.git(a, 'config', 'commit.gpgSign', 'true');
        sb.git(a, 'config', 'gpg.program', join(sb.dir, 'no-such-gpg'));
      },
      said: /sign/i,
      code: 'ESIGN',
    },
  ];

  for (const c of cases) {
    it(`${c.what}: the index, HEAD and files are exactly as before; the reason is shown; not retried at once`, async () => {
      c.arrange();
      const before = userState();
      const head = sb.git(a, 'rev-parse', 'HEAD').trim();
      const r = await cli(sb, a, ['sync-now']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(c.said);
      expect(sb.git(a, 'ls-files', '-s', '--debug')).toBe(before.index);
      expect(sb.git(a, 'status', '--porcelain=v2', '--untracked-files=all')).toBe(before.status);
      expect(sb.git(a, 'rev-parse', 'HEAD').trim()).toBe(head);
      expect(readFileSync(join(a, 'A.txt'), 'utf8')).toBe('a staged\nand more, unstaged\n');
      const log = readFileSync(join(a, STATE_DIR, 'coordinator.log'), 'utf8');
      expect(log).toContain(c.code);
      expect(log).not.toMatch(/transient failure; retrying/);
      expect(existsSync(join(a, '.git', 'index.lock'))).toBe(false);
    });
  }

  it('a git killed just after it moved the branch: the retried move sees its own commit there and finishes (index and status clean)', async () => {
    // The wrapper lets the first update-ref of the branch do its work, then kills itself:
    // to the sync, a git killed by a signal while the ref had already moved.
    const bin = join(sb.dir, 'wrap-kill');
    mkdirSync(bin);
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh
case " $* " in
  *' update-ref '*' refs/heads/main '*)
    "${real}" "$@"; rc=$?
    if [ $rc -eq 0 ] && [ ! -e '${sb.dir}/killed' ]; then : > '${sb.dir}/killed'; kill -9 $$; fi
    exit $rc ;;
esac
exec "${real}" "$@"
`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    writeFileSync(join(a, 'new.txt'), 'new\n');
    writeFileSync(join(a, 'B.txt'), 'b changed\n');
    const r = await cli(sb, a, ['sync-now'], { ...sb.env, PATH: `${bin}:${sb.env.PATH}` });
    expect(existsSync(join(sb.dir, 'killed'))).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    // Nothing staged against the new HEAD, nothing left untracked: the index moved with the branch.
    expect(sb.git(a, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(sb.git(a, 'rev-parse', 'HEAD').trim());
    expect(sb.git(a, 'show', 'HEAD:new.txt')).toBe('new\n');
  });

  it('a conflict that appears between preflight and staging (a conflicted stash pop) stops the sync before it stages anything', async () => {
    // A wrapper git makes the conflict in the window: right after preflight's status.
    const bin = join(sb.dir, 'wrap');
    mkdirSync(bin);
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(join(sb.dir, 'stash-setup.sh'), '');
    sb.git(a, 'config', 'user.name', 'A');
    writeFileSync(join(a, 'A.txt'), 'stashed version\n');
    sb.git(a, 'stash', '-q');
    writeFileSync(join(a, 'A.txt'), 'conflicting version\n');
    sb.git(a, 'commit', '-q', '-am', 'conflicting');
    sb.git(a, 'push', '-q', 'origin', 'main');
    writeFileSync(join(a, 'B.txt'), 'edited before the sync\n');
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh
case " $* " in
  *' status --porcelain=v2 '*)
    "${real}" "$@"; rc=$?
    if [ ! -e '${sb.dir}/popped' ]; then : > '${sb.dir}/popped'; (unset GIT_DIR GIT_INDEX_FILE; cd '${a}' && "${real}" stash pop -q >/dev/null 2>&1); fi
    exit $rc ;;
esac
exec "${real}" "$@"
`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    const remoteBefore = sb.git(sb.remote, 'rev-parse', 'main').trim();
    const r = await cli(sb, a, ['sync-now'], { ...sb.env, PATH: `${bin}:${sb.env.PATH}` });
    expect(existsSync(join(sb.dir, 'popped'))).toBe(true);
    expect(sb.git(a, 'ls-files', '-u')).not.toBe(''); // the user's conflict is there, untouched
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unmerged/);
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(remoteBefore);
    expect(sb.git(a, 'log', '-p', '--all', '--format=')).not.toMatch(/^\+<{7}/m);
  });
});

describe('conflict shapes', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeEach(async () => {
    sb = makeSandbox('sc-engine-shapes-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(a, 'note.txt'), 'first draft\n');
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
    b = sb.clone('b');
    await setupDevice(sb, b, testConfig('devB'));
  });
  afterEach(() => sb?.cleanup());

  it('an amend of a synced commit lands its content at the path: no conflict copy, no force push', async () => {
    writeFileSync(join(a, 'note.txt'), 'second draft\n');
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    const synced = sb.git(sb.remote, 'rev-parse', 'main').trim();
    writeFileSync(join(a, 'note.txt'), 'second draft, amended\n');
    sb.git(a, 'commit', '-q', '-a', '--amend', '-m', 'amended');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    const tip = sb.git(sb.remote, 'rev-parse', 'main').trim();
    expect(sb.git(sb.remote, 'merge-base', '--is-ancestor', synced, tip).trim()).toBe(''); // fast-forward: no force push
    expect(blob(sb, sb.remote, lsTree(sb, sb.remote, 'main').get('note.txt')!).toString()).toBe('second draft, amended\n');
    expect([...lsTree(sb, sb.remote, 'main').keys()].filter((p) => p.includes('sync-conflict'))).toEqual([]);
    expect(conflictLog(a)).toEqual([]);
    expect(readFileSync(join(a, 'note.txt'), 'utf8')).toBe('second draft, amended\n');
  });

  it('a file on one device, a directory of that name on the other: the file becomes a listed conflict copy', async () => {
    mkdirSync(join(b, 'foo'));
    writeFileSync(join(b, 'foo', 'bar'), 'in the directory\n');
    expect((await cli(sb, b, ['sync-now'])).code).toBe(0);
    writeFileSync(join(a, 'foo'), 'a file named foo\n');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    const tree = lsTree(sb, sb.remote, 'main');
    expect(blob(sb, sb.remote, tree.get('foo/bar')!).toString()).toBe('in the directory\n');
    const copy = [...tree.keys()].find((p) => p.startsWith('foo.sync-conflict-'));
    expect(copy, [...tree.keys()].join(', ')).toMatch(/^foo\.sync-conflict-\d{8}-\d{6}-devA$/);
    expect(blob(sb, sb.remote, tree.get(copy!)!).toString()).toBe('a file named foo\n');
    expect([...tree.keys()].some((p) => p.includes('~'))).toBe(false);
    const listed = JSON.parse((await cli(sb, a, ['conflicts', '--json'])).stdout);
    expect(JSON.stringify(listed)).toContain(copy!);
    expect(readFileSync(join(a, 'foo', 'bar'), 'utf8')).toBe('in the directory\n');
  });
});
