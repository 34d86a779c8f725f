/**
 * The shell hooks run directly with `sh` (dash here) in a temp work tree, without git:
 * the edge cases of post-merge.sh and pre-push.sh that a real `git pull` would make slow
 * to reach. The git-driven behaviour is in hooks.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { processStartTime } from '../src/shared/process-identity.js';
import { removeEntries } from '../src/core/queue.js';
import { waitFor } from '../test/helpers/cli.js';
import { makeTempDir } from '../test/helpers/sandbox.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGED_POST_MERGE = join(HERE, 'post-merge.sh');
const PRE_PUSH = join(HERE, 'pre-push.sh');
const ID = /^\d{13}-\d+-[0-9a-f]{8}$/;

let dir: string;
let cleanup: () => void;
let state: string;
let calls: string;
let fakeBin: string;
/** The installed copy: in the git dir, with `runtime` beside it (hooks/installer.ts). */
let POST_MERGE: string;
let runtime: string;

/** A bin that records how it was called; `sync-coordinator process` would drain the queue. */
function writeFakeBin(path: string, asExecutable = false): void {
  const body = `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ bin: ${JSON.stringify(path)}, argv: process.argv.slice(2), cwd: process.cwd(), git_dir: process.env.GIT_DIR ?? null, umask: process.umask() }) + '\\n');
`;
  writeFileSync(path, asExecutable ? `#!${process.execPath}\n${body}` : body);
  if (asExecutable) chmodSync(path, 0o755);
}

interface Call {
  bin: string;
  argv: string[];
  cwd: string;
  git_dir: string | null;
  umask: number;
}

function readCalls(): Call[] {
  try {
    return readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Call);
  } catch {
    return [];
  }
}

function queued(): string[] {
  try {
    return readdirSync(join(state, 'queue')).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    return [];
  }
}

function runSh(script: string, opts: { env?: NodeJS.ProcessEnv; flags?: string[] } = {}) {
  const r = spawnSync('sh', [...(opts.flags ?? []), script], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, ...opts.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr };
}

beforeEach(() => {
  ({ dir, cleanup } = makeTempDir('sc-hooksh-'));
  state = join(dir, '.claude', 'sync-coordination');
  mkdirSync(state, { recursive: true });
  const installed = join(dir, '.git', 'sync-coordinator', 'hooks');
  mkdirSync(installed, { recursive: true });
  POST_MERGE = join(installed, 'post-merge.sh');
  writeFileSync(POST_MERGE, readFileSync(PACKAGED_POST_MERGE));
  runtime = join(installed, 'runtime');
  calls = join(dir, 'calls.log');
  fakeBin = join(dir, 'fake-bin.mjs');
  writeFakeBin(fakeBin);
  writeFileSync(runtime, `${process.execPath}\n${fakeBin}\n`);
});

afterEach(() => {
  cleanup();
});

describe('post-merge.sh', () => {
  test.each([[[]], [['-e']], [['-eu']]])('enqueues one valid request and starts `process` detached (sh %j)', async (flags) => {
    const r = runSh(POST_MERGE, { flags, env: { GIT_DIR: '.git', GIT_INDEX_FILE: '.git/index' } });
    expect(r).toEqual({ code: 0, stderr: '' });
    const files = queued();
    expect(files).toHaveLength(1);
    const req = JSON.parse(readFileSync(join(state, 'queue', files[0]!), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(req)).toEqual(['id', 'type', 'caller', 'priority', 'reason', 'created_at', 'pid']);
    expect(req).toMatchObject({ type: 'post-merge', caller: 'git-hook:post-merge', priority: 'normal', reason: 'git post-merge' });
    expect(req.id).toMatch(ID);
    expect(files[0]).toBe(`${String(req.id)}.json`);
    expect(String(req.created_at)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/);
    expect(Math.abs(Date.parse(String(req.created_at)) - Number(String(req.id).slice(0, 13)))).toBeLessThan(1000);
    expect(typeof req.pid).toBe('number');
    // Published with a hard link: the only other entry is the dot-file twin of the same
    // file, which readers never list and the processor removes with the request.
    const twin = `.tmp-${String(req.id)}`;
    expect(readdirSync(join(state, 'queue')).filter((n) => n.startsWith('.'))).toEqual([twin]);
    expect(statSync(join(state, 'queue', twin)).ino).toBe(statSync(join(state, 'queue', files[0]!)).ino);
    await removeEntries([{ file: join(state, 'queue', files[0]!), request: req as never }]);
    expect(readdirSync(join(state, 'queue'))).toEqual([]);
    const [call] = await waitFor(() => (readCalls().length ? readCalls() : null), { what: 'the detached process call' });
    // The hook's repository variables do not leak into node, and it keeps the user's
    // umask (its git children check files out).
    expect(call).toEqual({ bin: fakeBin, argv: ['process'], cwd: dir, git_dir: null, umask: process.umask() });
  });

  test.each([
    ['CLAUDE_SYNC_ACTIVE=1', { CLAUDE_SYNC_ACTIVE: '1' }],
    ['SYNC_COORDINATOR=0', { SYNC_COORDINATOR: '0' }],
  ])('%s: does nothing', (_name, env) => {
    expect(runSh(POST_MERGE, { env, flags: ['-eu'] })).toEqual({ code: 0, stderr: '' });
    expect(queued()).toEqual([]);
    expect(readCalls()).toEqual([]);
  });

  test('no state directory (coordinator not set up here): exits 0 and creates nothing', () => {
    rmSync(join(dir, '.claude'), { recursive: true });
    expect(runSh(POST_MERGE, { flags: ['-e'] })).toEqual({ code: 0, stderr: '' });
    expect(readdirSync(dir).sort()).toEqual(['.git', 'fake-bin.mjs']);
  });

  test('a queue that cannot be written: exits 0 quietly', () => {
    writeFileSync(join(state, 'queue'), 'not a directory');
    expect(runSh(POST_MERGE, { flags: ['-e'] })).toEqual({ code: 0, stderr: '' });
  });

  test('a live daemon (pid + start time match): no node is started', async () => {
    writeFileSync(join(state, 'daemon.pid'), `${process.pid}\n${processStartTime(process.pid)}\n${new Date().toISOString()}\n`);
    expect(runSh(POST_MERGE, { flags: ['-e'] }).code).toBe(0);
    // Ordering proof without a fixed sleep: a second run, with the daemon gone, does start
    // the bin; only that second call may appear.
    writeFileSync(join(state, 'daemon.pid'), 'garbage\n');
    const second = join(dir, 'second-bin.mjs');
    writeFakeBin(second);
    writeFileSync(runtime, `${process.execPath}\n${second}\n`);
    expect(runSh(POST_MERGE, { flags: ['-e'] }).code).toBe(0);
    await waitFor(() => readCalls().length > 0, { what: 'the second call' });
    expect(readCalls().map((c) => c.bin)).toEqual([second]);
    expect(queued()).toHaveLength(2);
  });

  test.each([
    ['a pid file left by kill -9 (pid reused: start time differs)', () => `${process.pid}\n1\n2020-01-01T00:00:00.000Z\n`],
    ['a dead pid', () => `${deadPid()}\n\n`],
    ['a garbage pid file', () => 'not a pid\n'],
    ['an empty pid file', () => ''],
  ])('%s counts as no daemon', async (_name, content) => {
    writeFileSync(join(state, 'daemon.pid'), content());
    expect(runSh(POST_MERGE, { flags: ['-eu'] })).toEqual({ code: 0, stderr: '' });
    await waitFor(() => readCalls().length > 0, { what: 'the process call' });
  });

  test('node or bin gone: falls back to `sync-coordinator` on PATH', async () => {
    const binDir = join(dir, 'bin');
    mkdirSync(binDir);
    const onPath = join(binDir, 'sync-coordinator');
    writeFakeBin(onPath, true);
    writeFileSync(runtime, `/nonexistent/node\n${fakeBin}\n`);
    expect(runSh(POST_MERGE, { env: { PATH: `${binDir}:${process.env.PATH ?? ''}` } }).code).toBe(0);
    const [call] = await waitFor(() => (readCalls().length ? readCalls() : null), { what: 'the PATH fallback call' });
    expect(call?.bin).toBe(onPath);
    expect(call?.argv).toEqual(['process']);
  });

  test('no runtime and nothing on PATH: the request stays queued, exit 0', () => {
    rmSync(runtime);
    expect(runSh(POST_MERGE, { flags: ['-e'], env: { PATH: '/usr/bin:/bin' } })).toEqual({ code: 0, stderr: '' });
    expect(queued()).toHaveLength(1);
  });
});

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('pre-push.sh', () => {
  const lock = () => join(state, 'sync-coordinator.lock');

  test('no lock: returns at once, silently', () => {
    expect(runSh(PRE_PUSH, { flags: ['-eu'] })).toEqual({ code: 0, stderr: '' });
  });

  test.each([
    ['0', 0, 900],
    ['1', 900, 5_000],
  ])('lock held, SYNC_COORDINATOR_PREPUSH_WAIT=%s: waits for the bound, then exits 0', (wait, minMs, maxMs) => {
    mkdirSync(lock());
    const started = Date.now();
    const r = runSh(PRE_PUSH, { flags: ['-eu'], env: { SYNC_COORDINATOR_PREPUSH_WAIT: wait } });
    const ms = Date.now() - started;
    expect(r.code).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(minMs);
    expect(ms).toBeLessThan(maxMs);
  });

  test('lock removed mid-wait: goes at once (a bad SYNC_COORDINATOR_PREPUSH_WAIT means the default 10 s)', async () => {
    mkdirSync(lock());
    const started = Date.now();
    const child = spawn('sh', ['-eu', PRE_PUSH], {
      cwd: dir,
      env: { PATH: process.env.PATH, SYNC_COORDINATOR_PREPUSH_WAIT: '1e9' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = new Promise<number | null>((res) => child.on('close', res));
    await waitFor(() => stderr.includes('waiting up to 10s'), { what: 'the wait message' });
    rmSync(lock(), { recursive: true });
    const removed = Date.now();
    expect(await code).toBe(0);
    expect(Date.now() - removed).toBeLessThan(2_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
