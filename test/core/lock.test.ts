/**
 * Invariant 9 with real processes and real signals: a dead owner's lock is taken over
 * (single winner), a reused pid is not mistaken for the owner, a live owner is never
 * robbed (not even a suspended one), release-lock rules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, inspectLock, readOwner, releaseLockFor } from '../../src/core/lock.js';
import { LockBusyError } from '../../src/shared/errors.js';
import { statePaths, type StatePaths } from '../../src/git/workspace.js';
import { bootId, processStartTime } from '../../src/shared/process-identity.js';
import { silentLogger } from '../../src/shared/log.js';
import { exited, waitFor } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/git-fixture.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const HOLDER = join(PROJECT_ROOT, 'test', 'fixtures', 'lock-holder.mjs');
let dir: string;
let cleanup: () => void;
let paths: StatePaths;
const children: ChildProcess[] = [];

beforeEach(() => {
  ({ dir, cleanup } = makeTempDir('sc-lock-'));
  paths = statePaths(dir);
  mkdirSync(paths.dir, { recursive: true });
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
    await exited(c);
  }
  cleanup();
});

function holder(caller: string, holdMs: number, timeoutMs = 10_000, log?: string) {
  const child = spawn(process.execPath, [HOLDER, dir, caller, String(holdMs), String(timeoutMs), ...(log ? [log] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

const opts = () => ({ paths, logger: silentLogger, staleMs: 2000 });

describe('workspace lock', () => {
  it('acquires, records the owner beside the lock dir, releases', async () => {
    const lock = await acquireLock(opts(), { caller: 'me', timeoutMs: 1000 });
    const owner = await readOwner(paths.lockOwner);
    expect(owner).toMatchObject({ caller: 'me', pid: process.pid, host: hostname(), start_time: processStartTime(process.pid), boot_id: bootId() });
    await lock.assertOwned();
    await expect(acquireLock(opts(), { caller: 'other', timeoutMs: 200 })).rejects.toBeInstanceOf(LockBusyError);
    await lock.release();
    expect((await inspectLock(paths, 2000)).held).toBe(false);
  });

  it('takes over the lock of an owner killed with SIGKILL, without waiting for the stale time', async () => {
    const h = holder('victim', 60_000);
    await waitFor(() => h.output().includes('acquired'));
    h.child.kill('SIGKILL');
    await exited(h.child);
    const started = Date.now();
    const lock = await acquireLock(opts(), { caller: 'heir', timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await readOwner(paths.lockOwner))?.caller).toBe('heir');
    await lock.release();
  });

  it('a reused pid (same pid, other start time) is not the owner', async () => {
    const lock = await acquireLock(opts(), { caller: 'ghost', timeoutMs: 1000 });
    // Forge: the record names a live pid (ours) but with a start time it never had.
    const rec = JSON.parse(readFileSync(paths.lockOwner, 'utf8'));
    rec.start_time = '1';
    rec.token = 'forged';
    writeFileSync(paths.lockOwner, JSON.stringify(rec));
    const ins = await inspectLock(paths, 2000);
    expect(ins.stale).toBe(true);
    const heir = await acquireLock(opts(), { caller: 'heir', timeoutMs: 2000 });
    await expect(lock.assertOwned()).rejects.toThrow(/lost the workspace lock/);
    await heir.release();
  });

  it('never robs a live owner, not even a suspended one past the stale time', async () => {
    const h = holder('sleeper', 6000);
    await waitFor(() => h.output().includes('acquired'));
    h.child.kill('SIGSTOP');
    await expect(acquireLock(opts(), { caller: 'thief', timeoutMs: 3000 })).rejects.toBeInstanceOf(LockBusyError);
    const ins = await inspectLock(paths, 2000);
    expect(ins).toMatchObject({ held: true, stale: false });
    h.child.kill('SIGCONT');
    await exited(h.child);
    expect(h.output()).toContain('released'); // it still owned the lock when it woke up
  }, 20_000);

  it("an owner record from another host is never taken over on the lock dir's mtime; only release-lock --force frees it, logged", async () => {
    mkdirSync(paths.lockDir);
    const st = statSync(paths.lockDir);
    const owner = {
      caller: 'laptop',
      pid: 4242,
      start_time: '1',
      boot_id: 'b',
      host: 'another-host.example',
      op: null,
      since: new Date(0).toISOString(),
      token: 'far',
      lock_ino: st.ino,
      lock_birthtime_ms: st.birthtimeMs,
    };
    writeFileSync(paths.lockOwner, JSON.stringify(owner));
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(paths.lockDir, old, old);
    expect(await inspectLock(paths, 2000)).toMatchObject({ held: true, stale: false, owner: { host: 'another-host.example' } });
    await expect(acquireLock(opts(), { caller: 'thief', timeoutMs: 500 })).rejects.toBeInstanceOf(LockBusyError);
    await expect(releaseLockFor(opts(), 'thief', false)).rejects.toThrow(/live owner "laptop" \(pid 4242 on another-host.example/);
    const warnings: unknown[] = [];
    const logger = { ...silentLogger, warn: (...args: unknown[]) => void warnings.push(args) } as typeof silentLogger;
    expect(await releaseLockFor({ ...opts(), logger }, 'thief', true)).toMatchObject({ released: true, reason: 'forced' });
    expect(JSON.stringify(warnings)).toMatch(/lock released \(forced\)/);
    const lock = await acquireLock(opts(), { caller: 'after', timeoutMs: 1000 });
    await lock.release();
  });

  it('a lock dir without owner record is taken only once it is older than lock_stale_ms', async () => {
    mkdirSync(paths.lockDir);
    await expect(acquireLock(opts(), { caller: 'early', timeoutMs: 300 })).rejects.toBeInstanceOf(LockBusyError);
    const old = new Date(Date.now() - 5000);
    utimesSync(paths.lockDir, old, old);
    const lock = await acquireLock(opts(), { caller: 'late', timeoutMs: 1000 });
    await lock.release();
  });

  it("many processes racing for a dead owner's lock: one holder at a time", async () => {
    const h = holder('victim', 60_000);
    await waitFor(() => h.output().includes('acquired'));
    h.child.kill('SIGKILL');
    await exited(h.child);
    const log = join(dir, 'intervals.log');
    const racers = Array.from({ length: 8 }, (_, i) => holder(`racer-${i}`, 80, 20_000, log));
    await Promise.all(racers.map((r) => exited(r.child)));
    for (const r of racers) expect(r.output()).toContain('released');
    const intervals = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([, s, e]) => [BigInt(s!), BigInt(e!)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    expect(intervals).toHaveLength(8);
    for (let i = 1; i < intervals.length; i++) expect(intervals[i]![0] >= intervals[i - 1]![1]).toBe(true);
  }, 30_000);

  it('release-lock: refuses a live owner that is not the caller (exit 4, names it), frees its own and a dead one, --force frees any', async () => {
    const h = holder('worker', 60_000);
    await waitFor(() => h.output().includes('acquired'));
    const err = await releaseLockFor(opts(), 'someone-else', false).catch((e) => e);
    expect(err).toBeInstanceOf(LockBusyError);
    expect(err.exitCode).toBe(4);
    expect(err.message).toContain('"worker"');
    expect((await releaseLockFor(opts(), 'worker', false)).released).toBe(true);
    const lock = await acquireLock(opts(), { caller: 'me', timeoutMs: 1000 });
    expect((await releaseLockFor(opts(), 'anyone', true)).reason).toBe('forced');
    await expect(lock.assertOwned()).rejects.toThrow(/lost/);
  });

  it('a stray file inside the lock dir does not wedge release-lock --force', async () => {
    await acquireLock(opts(), { caller: 'me', timeoutMs: 1000 });
    writeFileSync(join(paths.lockDir, 'junk'), 'x');
    expect((await releaseLockFor(opts(), 'x', true)).released).toBe(true);
    const again = await acquireLock(opts(), { caller: 'next', timeoutMs: 1000 });
    await again.release();
  });
});
