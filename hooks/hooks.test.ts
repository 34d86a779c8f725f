/**
 * The installer and the installed hooks against real git: a bare remote and clones in a
 * temp dir (test/helpers/git-fixture.ts: HOME is a temp dir, no system config, identity
 * and gpgSign=false in each clone's local config). The other device ("b") pushes; the
 * clone under test ("a") pulls and pushes, and git fires the hooks.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { processStartTime } from '../src/shared/process-identity.js';
import { waitFor } from '../test/helpers/cli.js';
import { makeSandbox, PROJECT_ROOT, type Sandbox } from '../test/helpers/git-fixture.js';
import { blockText } from './hook-block.js';
import { effectiveHooksDir, hooksStatus, installHooks, uninstallHooks, type InstallContext } from './installer.js';

const STATE_REL = '.claude/sync-coordination';
const NONE = { 'post-merge': false, 'pre-push': false };
const BOTH = { 'post-merge': true, 'pre-push': true };

/** The real husky 9 (a devDependency), run by its bin as `npx husky` would in the repository. */
const HUSKY_BIN = join(PROJECT_ROOT, 'node_modules', 'husky', 'bin.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let sb: Sandbox;
let a: string;
let b: string;
let calls: string;
let fakeBin: string;
let commits = 0;
const savedEnv = { HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM };

/** git, asynchronously, with extra env; never in the project itself. */
function gitRun(cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}, onStderr?: (text: string) => void): Promise<Run> {
  if (resolve(cwd).startsWith(PROJECT_ROOT)) throw new Error(`refusing to run git in the project: ${cwd}`);
  const started = Date.now();
  return new Promise((res, rej) => {
    const child = spawn('git', args, { cwd, env: { ...sb.env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

function ctxFor(dir: string, binPath = fakeBin): InstallContext {
  const [root, gitDir, common] = sb.git(dir, 'rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir').trim().split('\n');
  return { root: root!, gitDir: gitDir!, commonDir: resolve(dir, common!), nodePath: process.execPath, binPath };
}

/** A bin that records its calls instead of processing the queue. */
function writeFakeBin(path: string): string {
  writeFileSync(
    path,
    `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ bin: ${JSON.stringify(path)}, argv: process.argv.slice(2), cwd: process.cwd() }) + '\\n');
`,
  );
  return path;
}

function readCalls(): { bin: string; argv: string[]; cwd: string }[] {
  if (!existsSync(calls)) return [];
  return readFileSync(calls, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { bin: string; argv: string[]; cwd: string });
}

function queued(root: string): Record<string, unknown>[] {
  const q = join(root, STATE_REL, 'queue');
  if (!existsSync(q)) return [];
  return readdirSync(q)
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .map((n) => JSON.parse(readFileSync(join(q, n), 'utf8')) as Record<string, unknown>);
}

/** The other device pushes a commit, so the next pull in `a` fast-forwards. */
function advanceRemote(): void {
  commits += 1;
  writeFileSync(join(b, `remote-${commits}.txt`), `${commits}\n`);
  sb.git(b, 'add', '-A');
  sb.git(b, 'commit', '-q', '-m', `remote ${commits}`);
  sb.git(b, 'push', '-q', 'origin', 'main');
}

async function pull(dir: string, extra: NodeJS.ProcessEnv = {}): Promise<void> {
  advanceRemote();
  const r = await gitRun(dir, ['pull', '-q', '--ff-only'], extra);
  expect(r.code, r.stderr).toBe(0);
}

function commitLocal(dir: string): string {
  commits += 1;
  writeFileSync(join(dir, `local-${commits}.txt`), `${commits}\n`);
  sb.git(dir, 'add', '-A');
  sb.git(dir, 'commit', '-q', '-m', `local ${commits}`);
  return sb.git(dir, 'rev-parse', 'HEAD').trim();
}

function writeHook(path: string, text: string, mode: number): Buffer {
  mkdirSync(resolve(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
  return readFileSync(path);
}

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean) : [];
}

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((n) => [n, `${statSync(join(dir, n)).mode.toString(8)} ${readFileSync(join(dir, n), 'utf8')}`]));
}

beforeAll(() => {
  // The installer's own read-only git inherits this process's env: keep it off the
  // developer's ~/.gitconfig and the system config too.
  process.env.GIT_CONFIG_NOSYSTEM = '1';
});

afterAll(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

beforeEach(() => {
  sb = makeSandbox('sc-hooks-');
  process.env.HOME = sb.home;
  a = sb.clone('a');
  b = sb.clone('b');
  calls = join(sb.dir, 'calls.log');
  fakeBin = writeFakeBin(join(sb.dir, 'fake-bin.mjs'));
});

afterEach(() => {
  sb.cleanup();
});

describe('plain repository (.git/hooks)', () => {
  test("install keeps the user's post-merge hook working, a pull queues a request and starts `process`; uninstall restores the hook byte for byte", async () => {
    const marker = join(sb.dir, 'user-marker.txt');
    const hookFile = join(a, '.git', 'hooks', 'post-merge');
    const original = writeHook(hookFile, `#!/bin/sh\n# the user's own hook\necho "user post-merge squash=$1" >> '${marker}'\nexit 0\n`, 0o775);
    const ctx = ctxFor(a);

    expect(await hooksStatus(ctx)).toEqual({ dir: join(a, '.git', 'hooks'), hooks: NONE });
    const installed = await installHooks(ctx);
    expect(installed).toMatchObject({ dir: join(a, '.git', 'hooks'), hooks: BOTH, notes: [] });
    expect(installed.changed.sort()).toEqual([hookFile, join(a, '.git', 'hooks', 'pre-push')]);
    expect(await hooksStatus(ctx)).toEqual({ dir: join(a, '.git', 'hooks'), hooks: BOTH });
    const text = readFileSync(hookFile, 'utf8');
    expect(text.startsWith(`#!/bin/sh\n${blockText('post-merge')}# the user's own hook\n`)).toBe(true);
    expect(statSync(hookFile).mode & 0o7777).toBe(0o775);
    expect(statSync(join(a, '.git', 'hooks', 'pre-push')).mode & 0o7777).toBe(0o755);

    // Install twice = one block, nothing rewritten.
    expect((await installHooks(ctx)).changed).toEqual([]);
    expect(readFileSync(hookFile, 'utf8')).toBe(text);

    await pull(a);
    expect(lines(marker)).toEqual(['user post-merge squash=0']);
    const reqs = queued(a);
    expect(reqs).toHaveLength(1);
    expect(reqs[0]).toMatchObject({ type: 'post-merge', caller: 'git-hook:post-merge', priority: 'normal', reason: 'git post-merge' });
    expect(Object.keys(reqs[0]!)).toEqual(['id', 'type', 'caller', 'priority', 'reason', 'created_at', 'pid']);
    expect(reqs[0]!.id).toMatch(/^\d{13}-\d+-[0-9a-f]{8}$/);
    expect(Number.isNaN(Date.parse(String(reqs[0]!.created_at)))).toBe(false);
    // No daemon.pid: node was started, detached, in the work tree root.
    const [call] = await waitFor(() => (readCalls().length ? readCalls() : null), { what: 'the detached `process` call' });
    expect(call).toEqual({ bin: fakeBin, argv: ['process'], cwd: a });
    // The state dir stays out of git.
    expect(sb.git(a, 'status', '--porcelain')).toBe('');

    const removed = await uninstallHooks(ctx);
    expect(removed).toMatchObject({ hooks: NONE });
    expect(removed.changed.sort()).toEqual([hookFile, join(a, '.git', 'hooks', 'pre-push')]);
    expect(readFileSync(hookFile).equals(original)).toBe(true);
    expect(statSync(hookFile).mode & 0o7777).toBe(0o775);
    expect(existsSync(join(a, '.git', 'hooks', 'pre-push'))).toBe(false); // we created it
    expect(existsSync(join(a, STATE_REL, 'hooks'))).toBe(false);
    expect(await hooksStatus(ctx)).toEqual({ dir: join(a, '.git', 'hooks'), hooks: NONE });
  });

  test('a live daemon (daemon.pid = this process and its start time): no node is started; a stale one does not count', async () => {
    await installHooks(ctx());
    const pidFile = join(a, STATE_REL, 'daemon.pid');
    writeFileSync(pidFile, `${process.pid}\n${processStartTime(process.pid)}\n${new Date().toISOString()}\n`);
    await pull(a);
    expect(queued(a)).toHaveLength(1);

    // Same pid, other start time (a pid file left by kill -9, pid reused): not running.
    // Reinstalling with a second bin also shows that install updates the paths in place.
    writeFileSync(pidFile, `${process.pid}\n1\n2020-01-01T00:00:00.000Z\n`);
    const second = writeFakeBin(join(sb.dir, 'second-bin.mjs'));
    expect((await installHooks(ctxFor(a, second))).changed).toEqual([]); // the hook files hold no paths
    await pull(a);
    expect(queued(a)).toHaveLength(2);
    await waitFor(() => readCalls().length > 0, { what: 'the call after the stale pid file' });
    // Only the second pull started node: the first, with the live daemon, did not.
    expect(readCalls().map((c) => c.bin)).toEqual([second]);
  });

  test('CLAUDE_SYNC_ACTIVE=1 or SYNC_COORDINATOR=0 in the pull: our hook writes nothing, the user hook still runs', async () => {
    const marker = join(sb.dir, 'user-marker.txt');
    writeHook(join(a, '.git', 'hooks', 'post-merge'), `#!/bin/sh\necho merged >> '${marker}'\n`, 0o755);
    await installHooks(ctx());

    await pull(a, { CLAUDE_SYNC_ACTIVE: '1' });
    await pull(a, { SYNC_COORDINATOR: '0' });
    expect(lines(marker)).toEqual(['merged', 'merged']);
    expect(queued(a)).toEqual([]);

    // A plain pull then queues and starts exactly one: the first two started nothing.
    await pull(a);
    await waitFor(() => readCalls().length > 0, { what: 'the plain pull call' });
    expect(queued(a)).toHaveLength(1);
    expect(readCalls()).toHaveLength(1);
    expect(lines(marker)).toHaveLength(3);
  });

  test('hooks it cannot or should not edit: another interpreter, a non-executable hook', async () => {
    const py = writeHook(join(a, '.git', 'hooks', 'post-merge'), '#!/usr/bin/env python3\nprint("hi")\n', 0o755);
    writeHook(join(a, '.git', 'hooks', 'pre-push'), '#!/bin/sh\necho user\n', 0o644);
    const r = await installHooks(ctx());
    expect(readFileSync(join(a, '.git', 'hooks', 'post-merge')).equals(py)).toBe(true);
    expect(r.changed).toEqual([join(a, '.git', 'hooks', 'pre-push')]);
    expect(r.hooks).toEqual({ 'post-merge': false, 'pre-push': true });
    expect(r.notes.join('\n')).toMatch(/post-merge: runs python3, not sh; add these lines to it by hand/);
    expect(r.notes.join('\n')).toMatch(/pre-push is not executable/);
    expect(statSync(join(a, '.git', 'hooks', 'pre-push')).mode & 0o7777).toBe(0o644); // not ours to enable
  });
});

describe('husky 9', () => {
  test('install writes .husky/<hook>, never .husky/_; a pull fires it; uninstall restores', async () => {
    const huskyDir = join(a, '.husky');
    const underscore = join(huskyDir, '_');
    // As a user sets husky up: `husky` writes .husky/_ and points core.hooksPath at it.
    execFileSync(process.execPath, [HUSKY_BIN], { cwd: a, env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(sb.git(a, 'config', 'core.hooksPath').trim()).toBe('.husky/_');
    expect(existsSync(join(underscore, 'h'))).toBe(true);
    const marker = join(sb.dir, 'husky-marker.txt');
    const userHook = join(huskyDir, 'post-merge');
    const original = writeHook(userHook, `echo "husky user hook" >> '${marker}'\n`, 0o644);
    const before = snapshot(underscore);
    const c = ctx();

    expect(await effectiveHooksDir(c)).toEqual({ dir: huskyDir, kind: 'husky', writable: true });
    expect(await hooksStatus(c)).toEqual({ dir: huskyDir, hooks: NONE });
    const r = await installHooks(c);
    expect(r.hooks).toEqual(BOTH);
    expect(r.changed.sort()).toEqual([userHook, join(huskyDir, 'pre-push')]);
    expect(r.notes.join('\n')).toMatch(/\.husky\/post-merge and \.husky\/pre-push are in the work tree: commit the change/);
    expect(snapshot(underscore)).toEqual(before);
    expect(existsSync(join(a, '.git', 'hooks', 'post-merge'))).toBe(false);
    expect(readFileSync(userHook, 'utf8')).toBe(blockText('post-merge') + original.toString());

    await pull(a);
    expect(lines(marker)).toEqual(['husky user hook']);
    expect(queued(a)).toHaveLength(1);
    await waitFor(() => readCalls().length === 1, { what: 'the process call' });
    commitLocal(a);
    const push = await gitRun(a, ['push', '-q', 'origin', 'main']);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stderr).not.toMatch(/husky - .* script failed/);

    const u = await uninstallHooks(c);
    expect(u.hooks).toEqual(NONE);
    expect(readFileSync(userHook).equals(original)).toBe(true);
    expect(existsSync(join(huskyDir, 'pre-push'))).toBe(false);
    expect(snapshot(underscore)).toEqual(before);
  });
});

describe('pre-push', () => {
  const lockDir = () => join(a, STATE_REL, 'sync-coordinator.lock');

  test('a sync in flight: the push waits for the bound, then succeeds; the user hook still reads git stdin', async () => {
    const refsLog = join(sb.dir, 'pre-push-stdin.txt');
    writeHook(
      join(a, '.git', 'hooks', 'pre-push'),
      `#!/bin/sh\nwhile read -r lref lsha rref rsha; do echo "$lref $rref" >> '${refsLog}'; done\nexit 0\n`,
      0o755,
    );
    await installHooks(ctx());
    mkdirSync(lockDir());
    const head = commitLocal(a);
    const r = await gitRun(a, ['push', '-q', 'origin', 'main'], { SYNC_COORDINATOR_PREPUSH_WAIT: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(900);
    expect(r.stderr).toMatch(/waiting up to 1s/);
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(head);
    expect(lines(refsLog)).toEqual(['refs/heads/main refs/heads/main']);
  });

  test('the lock released mid-wait lets the push go at once', async () => {
    await installHooks(ctx());
    mkdirSync(lockDir());
    const head = commitLocal(a);
    let waiting = false;
    const push = gitRun(a, ['push', '-q', 'origin', 'main'], { SYNC_COORDINATOR_PREPUSH_WAIT: '30' }, (err) => {
      waiting ||= err.includes('waiting up to 30s');
    });
    await waitFor(() => waiting, { what: 'the hook to wait' });
    rmSync(lockDir(), { recursive: true });
    const released = Date.now();
    const r = await push;
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - released).toBeLessThan(5_000);
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(head);
  });

  test.each([
    ['CLAUDE_SYNC_ACTIVE', '1'],
    ['SYNC_COORDINATOR', '0'],
  ])('%s=%s: no wait at all, even with the lock held', async (name, value) => {
    await installHooks(ctx());
    mkdirSync(lockDir());
    commitLocal(a);
    const r = await gitRun(a, ['push', '-q', 'origin', 'main'], { SYNC_COORDINATOR_PREPUSH_WAIT: '30', [name]: value });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/waiting/);
    expect(r.ms).toBeLessThan(5_000);
  });
});

describe('other hooks directories', () => {
  test('core.hooksPath inside the work tree: hooks are created there, executable, and fire', async () => {
    sb.git(a, 'config', 'core.hooksPath', '.githooks');
    const c = ctx();
    expect(await effectiveHooksDir(c)).toEqual({ dir: join(a, '.githooks'), kind: 'core.hooksPath', writable: true });
    const r = await installHooks(c);
    expect(r).toMatchObject({ dir: join(a, '.githooks'), hooks: BOTH });
    expect(statSync(join(a, '.githooks', 'post-merge')).mode & 0o7777).toBe(0o755);
    expect(existsSync(join(a, '.git', 'hooks', 'post-merge'))).toBe(false);
    await pull(a);
    expect(queued(a)).toHaveLength(1);
    await waitFor(() => readCalls().length === 1, { what: 'the process call' });
    await uninstallHooks(c);
    expect(readdirSync(join(a, '.githooks'))).toEqual([]);
  });

  test('core.hooksPath outside the work tree: nothing written there, the note gives the lines, which work when added', async () => {
    const shared = join(sb.dir, 'shared-hooks');
    mkdirSync(shared);
    sb.git(a, 'config', 'core.hooksPath', shared);
    const c = ctx();
    const eff = await effectiveHooksDir(c);
    expect(eff).toMatchObject({ dir: shared, kind: 'core.hooksPath', writable: false });
    expect(eff.note).toMatch(/outside this work tree/);
    const r = await installHooks(c);
    expect(r).toMatchObject({ dir: shared, hooks: NONE, changed: [] });
    expect(readdirSync(shared)).toEqual([]);
    expect(r.notes.join('\n')).toContain(blockText('post-merge'));

    writeHook(join(shared, 'post-merge'), `#!/bin/sh\n${blockText('post-merge')}`, 0o755);
    expect((await hooksStatus(c)).hooks).toEqual({ 'post-merge': true, 'pre-push': false });
    await pull(a);
    expect(queued(a)).toHaveLength(1);
    await waitFor(() => readCalls().length === 1, { what: 'the process call' });
  });

  test('linked worktree: hooks go to the shared hooks dir, requests to the pulling worktree only', async () => {
    const wt = join(sb.dir, 'wt');
    sb.git(a, 'worktree', 'add', '-q', '--track', '-b', 'wt', wt, 'origin/main');
    const c = ctxFor(wt);
    expect(c.commonDir).toBe(join(a, '.git'));
    const r = await installHooks(c);
    expect(r).toMatchObject({ dir: join(a, '.git', 'hooks'), hooks: BOTH });

    await pull(wt);
    expect(queued(wt)).toHaveLength(1);
    await waitFor(() => readCalls().length === 1, { what: 'the process call' });
    expect(readCalls()[0]!.cwd).toBe(wt);
    // The main worktree shares the hook but never ran `hooks install`: its pull is a no-op for us.
    await pull(a);
    expect(existsSync(join(a, '.claude'))).toBe(false);
  });
});

describe('remote content never runs (invariant 14)', () => {
  test("a remote that tracks .claude/sync-coordination/hooks/post-merge.sh: the user's own pulls check it out, it never runs, our hook still queues", async () => {
    await installHooks(ctx());
    const evil = join(sb.dir, 'evil-ran.txt');
    const evilScript = `#!/bin/sh\necho pwned >> '${evil}'\n`;
    mkdirSync(join(b, STATE_REL, 'hooks'), { recursive: true });
    writeFileSync(join(b, STATE_REL, 'hooks', 'post-merge.sh'), evilScript);
    writeFileSync(join(b, STATE_REL, 'hooks', 'pre-push.sh'), evilScript);
    writeFileSync(join(b, STATE_REL, 'hooks', 'runtime'), `/bin/sh\n${join(b, STATE_REL, 'hooks', 'post-merge.sh')}\n`);
    sb.git(b, 'add', '-f', STATE_REL);
    sb.git(b, 'commit', '-q', '-m', 'track the state dir');
    sb.git(b, 'push', '-q', 'origin', 'main');

    await pull(a);
    // git checked the files out (it overwrites ignored files): the attack reached the disk...
    expect(readFileSync(join(a, STATE_REL, 'hooks', 'post-merge.sh'), 'utf8')).toBe(evilScript);
    await pull(a);
    commitLocal(a);
    const push = await gitRun(a, ['push', '-q', 'origin', 'main']);
    expect(push.code, push.stderr).toBe(0);
    // ...and never ran; our own hook ran from the git dir both times.
    expect(existsSync(evil)).toBe(false);
    expect(queued(a)).toHaveLength(2);
    await waitFor(() => readCalls().length >= 1, { what: 'the process call' });
    expect(readCalls().every((c) => c.bin === fakeBin)).toBe(true);
    // Uninstall leaves the tracked copies alone (deleting them would be a change to commit).
    await uninstallHooks(ctx());
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
  });

  test('an old installation (block runs the state-dir copy) is reported unsafe; install rewrites it and removes the old copies', async () => {
    const hookFile = join(a, '.git', 'hooks', 'post-merge');
    const legacyBlock = [
      '# >>> sync-coordinator >>>',
      '# sync-coordinator: queue a sync after a merge; `sync-coordinator hooks uninstall` removes this block.',
      '[ -f .claude/sync-coordination/hooks/post-merge.sh ] && sh .claude/sync-coordination/hooks/post-merge.sh </dev/null || true',
      '# <<< sync-coordinator <<<',
      '',
    ].join('\n');
    writeHook(hookFile, `#!/bin/sh\n${legacyBlock}echo user\n`, 0o755);
    const legacyDir = join(a, STATE_REL, 'hooks');
    mkdirSync(legacyDir, { recursive: true });
    for (const f of ['post-merge.sh', 'pre-push.sh', 'runtime']) writeFileSync(join(legacyDir, f), 'old\n');

    expect(await hooksStatus(ctx())).toEqual({ dir: join(a, '.git', 'hooks'), hooks: NONE, unsafe: ['post-merge'] });
    const r = await installHooks(ctx());
    expect(r).toMatchObject({ hooks: BOTH });
    expect(r.unsafe).toBeUndefined();
    expect(readFileSync(hookFile, 'utf8')).toBe(`#!/bin/sh\n${blockText('post-merge')}echo user\n`);
    expect(existsSync(legacyDir)).toBe(false);
    expect(existsSync(join(a, '.git', 'sync-coordinator', 'hooks', 'post-merge.sh'))).toBe(true);
  });
});

function ctx(): InstallContext {
  return ctxFor(a);
}
