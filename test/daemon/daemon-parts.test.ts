/**
 * The daemon's parts in-process: the pid file claim, coordinator.log rotation, log
 * tailing and following across a rotation, the transport-failure fallback, service
 * files, the low-disk pause of the loop (with an injected statfs), the whole loop on a
 * fake clock, and reconcile against a real work tree.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { defaultConfig, type Config } from '../../src/shared/config.js';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/control.js';
import { enqueue, newRequestId, countQueue, type QueueEntry } from '../../src/core/queue.js';
import { ensureStateDir, resolveWorkspace } from '../../src/git/workspace.js';
import { silentLogger } from '../../src/shared/log.js';
import { runDaemon } from '../../src/daemon/daemon.js';
import { createReconcile } from '../../src/daemon/reconcile.js';
import { parseStatusZ } from '../../src/git/status.js';
import { createDaemonLogger } from '../../src/daemon/daemon-logger.js';
import { readDaemonState } from '../../src/core/daemon-state.js';
import { checkDisk } from '../../src/daemon/health.js';
import { followLogs, lastLines, tailLogs, type LogLine, type LogSource } from '../../src/core/log-view.js';
import { rotateBySize, rotatedFiles } from '../../src/shared/log-rotate.js';
import { claimPidFile, pidFileOwnership, readDaemonInfo, releasePidFile } from '../../src/core/pidfile.js';
import { planService, systemdUnit } from '../../src/daemon/service.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const cleanups: (() => void)[] = [];
let sb: Sandbox | null = null;
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  sb?.cleanup();
  sb = null;
});
function tmp(): string {
  const { dir: d, cleanup } = makeTempDir('sc-daemon-parts-');
  cleanups.push(cleanup);
  return d;
}

/** A pid that is certainly dead: a child that has exited and been reaped. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('pid file', () => {
  it("claims atomically, refuses while the owner lives, replaces a dead owner's file and reports it", async () => {
    const file = join(tmp(), 'daemon.pid');
    const first = await claimPidFile(file);
    expect(first.acquired).toBe(true);
    if (!first.acquired) return;
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe(String(process.pid));
    expect(lines[1]).toMatch(/^\d+$/); // /proc start time: what the sh hooks compare
    expect(new Date(lines[2]!).toISOString()).toBe(lines[2]);
    expect(await pidFileOwnership(file, first.content)).toBe('ours');

    const second = await claimPidFile(file, 'other content\n');
    expect(second).toMatchObject({ acquired: false, running: { running: true, pid: process.pid } });

    const stale = `${deadPid()}\n12345\n2020-01-01T00:00:00.000Z\n`;
    writeFileSync(file, stale);
    expect((await readDaemonInfo(file)).running).toBe(false);
    const third = await claimPidFile(file);
    expect(third).toMatchObject({ acquired: true, replacedStale: stale });
    // A reused pid (ours, with another start time) is not the daemon either.
    writeFileSync(file, `${process.pid}\n1\n2020-01-01T00:00:00.000Z\n`);
    expect((await readDaemonInfo(file)).running).toBe(false);
    // Garbage is stale too.
    writeFileSync(file, 'not a pid\n');
    expect((await claimPidFile(file)).acquired).toBe(true);
    expect(readdirSync(join(file, '..')).filter((n) => n !== 'daemon.pid')).toEqual([]); // no temp or aside files left
  });

  it('release removes only our own file', async () => {
    const file = join(tmp(), 'daemon.pid');
    const c = await claimPidFile(file);
    if (!c.acquired) throw new Error('not acquired');
    expect(await releasePidFile(file, 'someone else\n')).toBe(false);
    expect(existsSync(file)).toBe(true);
    expect(await releasePidFile(file, c.content)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });
});

describe('coordinator.log rotation and the log view', () => {
  it('rotates by size keeping max_files in all', async () => {
    const dir = tmp();
    const file = join(dir, 'coordinator.log');
    for (let i = 0; i < 5; i++) {
      writeFileSync(file, `${'x'.repeat(100)} ${i}\n`);
      expect(await rotateBySize(file, 50, 3)).toBe(true);
    }
    expect(await rotateBySize(file, 50, 3)).toBe(false); // gone: nothing to rotate
    writeFileSync(file, 'small\n');
    expect(await rotateBySize(file, 50, 3)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['coordinator.log', 'coordinator.log.1', 'coordinator.log.2']);
    expect(readFileSync(join(dir, 'coordinator.log.1'), 'utf8')).toContain(' 4');
    expect(await rotatedFiles(file)).toEqual([join(dir, 'coordinator.log.2'), join(dir, 'coordinator.log.1')]);
  });

  it('lastLines reads backwards across chunks and leaves a partial last line out', async () => {
    const file = join(tmp(), 'x.log');
    const lines = Array.from({ length: 3000 }, (_, i) => `{"time":${1_000_000_000_000 + i},"msg":"line ${i} ${'p'.repeat(50)}"}`);
    writeFileSync(file, lines.join('\n') + '\n{"time":9,"partial');
    const got = await lastLines(file, 1500);
    expect(got).toHaveLength(1500);
    expect(got[0]).toBe(lines[1500]);
    expect(got[1499]).toBe(lines[2999]);
    expect(await lastLines(file, 0)).toEqual([]);
    expect(await lastLines(join(file, 'missing'), 5)).toEqual([]);
  });

  it('tail merges sources by time; follow survives a rename rotation and a truncation', async () => {
    const dir = tmp();
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    writeFileSync(a, '{"time":1000,"msg":"a1"}\n{"time":3000,"msg":"a3"}\n');
    writeFileSync(b, '{"time":2000,"msg":"b2"}\n');
    const sources: LogSource[] = [
      { name: 'daemon', file: a, history: async () => [] },
      { name: 'coordinator', file: b, history: async () => [] },
    ];
    const { lines, ends } = await tailLogs(sources, 10);
    expect(lines.map((l) => JSON.parse(l.text).msg)).toEqual(['a1', 'b2', 'a3']);
    expect((await tailLogs(sources, 2)).lines.map((l) => JSON.parse(l.text).msg)).toEqual(['b2', 'a3']);

    const seen: string[] = [];
    const ctl = new AbortController();
    const following = followLogs(sources, ends, (l: LogLine) => seen.push(JSON.parse(l.text).msg), ctl.signal, 20);
    appendFileSync(a, '{"time":4000,"msg":"a4"}\n');
    await waitFor(() => seen.includes('a4'), { what: 'a4' });
    // Rotation: the last line lands in the old file just before the rename.
    appendFileSync(a, '{"time":5000,"msg":"a5"}\n');
    renameSync(a, `${a}.1`);
    writeFileSync(a, '{"time":6000,"msg":"a6"}\n');
    await waitFor(() => seen.includes('a6'), { what: 'a6 after rotation' });
    writeFileSync(b, ''); // truncated in place
    appendFileSync(b, '{"time":7,"msg":"b7"}\n'); // shorter than before: a size below the read position means truncation
    await waitFor(() => seen.includes('b7'), { what: 'b7 after truncation' });
    ctl.abort();
    await following;
    expect(seen.filter((m) => m.startsWith('a'))).toEqual(['a4', 'a5', 'a6']);
  });
});

describe('daemon logger', () => {
  it('a failed daemon.log transport falls back to coordinator.log and is reported, without crashing', async () => {
    const state = tmp();
    mkdirSync(join(state, 'logs', 'daemon.1.log'), { recursive: true }); // pino-roll cannot open it
    let reported: string | null = null;
    const stderrWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      const dlog = await createDaemonLogger({
        stateDir: state,
        daemonLog: join(state, 'daemon.log'),
        coordinatorLog: join(state, 'coordinator.log'),
        level: 'info',
        maxSizeMb: 1,
        maxFiles: 2,
        onError: (m) => (reported = m),
      });
      dlog.logger.info({}, 'first');
      await waitFor(() => dlog.error(), { what: 'the transport error' });
      dlog.logger.info({ n: 2 }, 'after the failure');
      await dlog.close();
      const text = readFileSync(join(state, 'coordinator.log'), 'utf8');
      expect(text).toContain('daemon.log transport failed');
      expect(text).toContain('"msg":"after the failure"');
      expect(reported).toContain('transport failed');
    } finally {
      process.stderr.write = stderrWrite;
    }
  });

  it('writes daemon.log (a link to the current pino-roll file) and flushes on close', async () => {
    const state = tmp();
    const dlog = await createDaemonLogger({
      stateDir: state,
      daemonLog: join(state, 'daemon.log'),
      coordinatorLog: join(state, 'coordinator.log'),
      level: 'info',
      maxSizeMb: 1,
      maxFiles: 2,
    });
    for (let i = 0; i < 20; i++) dlog.logger.info({ i }, 'line');
    await dlog.close();
    const lines = readFileSync(join(state, 'daemon.log'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(20);
    expect(JSON.parse(lines[19]!)).toMatchObject({ i: 19, msg: 'line', level: 30 });
    expect(readdirSync(join(state, 'logs')).sort()).toEqual(['current.log', 'daemon.1.log']);
  });
});

describe('service files', () => {
  it('quotes paths for systemd and escapes its specifiers', () => {
    const unit = systemdUnit({ root: '/home/u/my "repo" 100%', node: '/usr/bin/node', bin: '/opt/sc/bin.js', path: '/usr/bin:/bin' });
    // The daemon's own node flags (its memory budget) come before the bin, as `daemon start` passes them.
    expect(unit).toContain(
      `ExecStart="/usr/bin/node" ${DAEMON_NODE_FLAGS.map((f) => `"${f}"`).join(' ')} "/opt/sc/bin.js" "-C" "/home/u/my \\"repo\\" 100%%" "daemon" "run"`,
    );
    expect(DAEMON_NODE_FLAGS).toContain('--no-opt');
    expect(unit).toContain('WorkingDirectory=/home/u/my "repo" 100%%');
    expect(unit).toContain('Environment="PATH=/usr/bin:/bin"');
    const plan = planService({ root: '/w/proj', node: '/n', bin: '/b', path: undefined }, 'linux', { XDG_CONFIG_HOME: '/xdg' }, '/home/u');
    expect(plan.file).toMatch(/^\/xdg\/systemd\/user\/sync-coordinator-proj-[0-9a-f]{8}\.service$/);
    expect(() => planService({ root: '/w/a\nb', node: '/n', bin: '/b', path: undefined }, 'linux')).toThrow(/control characters/);
  });
});

describe('daemon loop (in-process)', () => {
  it('pauses syncs below the free-space floor and resumes when space returns', async () => {
    sb = makeSandbox('sc-daemon-parts-');
    const repo = sb.clone('a');
    const saved = { HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM };
    process.env.HOME = sb.home;
    process.env.GIT_CONFIG_NOSYSTEM = '1';
    try {
      const ws = await resolveWorkspace(repo);
      await ensureStateDir(ws);
      const config: Config = { ...defaultConfig(), process_interval_s: 1, pull_interval_s: 0, watch: { enabled: false, ignore: [] } };
      const claim = await claimPidFile(ws.paths.daemonPid);
      if (!claim.acquired) throw new Error('pid file');
      let free = 10 * 1024 * 1024;
      const ctl = new AbortController();
      const run = runDaemon({
        ws,
        config,
        logger: silentLogger,
        signal: ctl.signal,
        pidContent: claim.content,
        health: { statfs: async () => ({ bavail: free / 4096, bsize: 4096 }) },
      });

      writeFileSync(join(repo, 'disk.txt'), 'x\n');
      await enqueue(ws.paths.queue, {
        id: newRequestId(),
        type: 'smart',
        caller: 'disk-test',
        priority: 'normal',
        reason: '',
        created_at: new Date().toISOString(),
        pid: process.pid,
      });
      const stateFile = join(ws.paths.dir, 'daemon-state.json');
      const paused = await waitFor(
        async () => {
          const s = await readDaemonState(stateFile);
          return s?.paused_reason && s.last_cycle_at ? s : null;
        },
        { what: 'the pause' },
      );
      expect(paused.paused_reason).toMatch(/low disk space: 10 MB free, below 100 MB/);
      // Two more cycles later the request is still waiting, visibly.
      const cycle = paused.last_cycle_at;
      await waitFor(async () => (await readDaemonState(stateFile))?.last_cycle_at !== cycle, { what: 'another cycle' });
      expect(await countQueue(ws.paths.queue)).toBe(1);

      free = 10 * 1024 * 1024 * 1024;
      await waitFor(() => spawnSync('git', ['cat-file', '-e', 'main:disk.txt'], { cwd: sb!.remote }).status === 0, {
        what: 'the sync after the space returned',
      });
      await waitFor(async () => (await readDaemonState(stateFile))?.paused_reason === null, { what: 'the pause lifted in daemon-state.json' });

      ctl.abort(new Error('test over'));
      expect(await run).toEqual({ exitCode: 0, reason: 'signal' });
      expect(existsSync(ws.paths.daemonPid)).toBe(false);
    } finally {
      process.env.HOME = saved.HOME;
      if (saved.GIT_CONFIG_NOSYSTEM === undefined) delete process.env.GIT_CONFIG_NOSYSTEM;
      else process.env.GIT_CONFIG_NOSYSTEM = saved.GIT_CONFIG_NOSYSTEM;
    }
  });

  it('on a fake clock: a request file wakes it after the 15 ms debounce, the 30 s tick runs a cycle, and shutdown leaves no timer', async () => {
    sb = makeSandbox('sc-daemon-parts-');
    const repo = sb.clone('a');
    const saved = { HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM };
    process.env.HOME = sb.home;
    process.env.GIT_CONFIG_NOSYSTEM = '1';
    try {
      const ws = await resolveWorkspace(repo);
      await ensureStateDir(ws);
      const config: Config = { ...defaultConfig(), process_interval_s: 30, pull_interval_s: 0, watch: { enabled: false, ignore: [] } };
      const claim = await claimPidFile(ws.paths.daemonPid);
      if (!claim.acquired) throw new Error('pid file');
      const start = Date.now();
      const clock = new FakeClock(start);
      const ctl = new AbortController();
      const run = runDaemon({ ws, config, logger: silentLogger, signal: ctl.signal, pidContent: claim.content, clock });
      const stateFile = join(ws.paths.dir, 'daemon-state.json');
      const cycleAt = async () => (await readDaemonState(stateFile))?.last_cycle_at ?? null;
      await waitFor(async () => (await cycleAt()) === new Date(start).toISOString(), { what: 'the first cycle' });
      await waitFor(() => clock.pending() === 1, { what: 'the sleep until the next tick' });
      expect(clock.nextAt()).toBe(start + 30_000);

      writeFileSync(join(repo, 'woken.txt'), 'x\n');
      await enqueue(ws.paths.queue, {
        id: newRequestId(),
        type: 'smart',
        caller: 'fake-clock-test',
        priority: 'normal',
        reason: '',
        created_at: new Date().toISOString(),
        pid: process.pid,
      });
      // The queue watch saw the file: a debounce timer beside the sleep; nothing is served before it fires.
      await waitFor(() => clock.pending() === 2, { what: 'the debounce timer' });
      expect(await countQueue(ws.paths.queue)).toBe(1);
      await clock.advance(15);
      await waitFor(() => spawnSync('git', ['cat-file', '-e', 'main:woken.txt'], { cwd: sb!.remote }).status === 0, { what: 'the woken sync' });
      await waitFor(async () => (await cycleAt()) === new Date(start + 15).toISOString(), { what: 'the woken cycle recorded' });

      await clock.advanceTo(start + 30_000);
      await waitFor(async () => (await cycleAt()) === new Date(start + 30_000).toISOString(), { what: 'the tick at 30 s' });
      await waitFor(() => clock.nextAt() === start + 60_000, { what: 'the sleep until 60 s' });

      ctl.abort(new Error('test over'));
      expect(await run).toEqual({ exitCode: 0, reason: 'signal' });
      expect(clock.pending()).toBe(0);
      expect(existsSync(ws.paths.daemonPid)).toBe(false);
    } finally {
      process.env.HOME = saved.HOME;
      if (saved.GIT_CONFIG_NOSYSTEM === undefined) delete process.env.GIT_CONFIG_NOSYSTEM;
      else process.env.GIT_CONFIG_NOSYSTEM = saved.GIT_CONFIG_NOSYSTEM;
    }
  });

  it('checkDisk reports free bytes and never pauses when it cannot tell', async () => {
    expect(await checkDisk('/', { statfs: async () => ({ bavail: 1n, bsize: 4096n }) })).toMatchObject({ ok: false, free_bytes: 4096 });
    expect(await checkDisk('/', { statfs: async () => Promise.reject(new Error('ENOSYS')) })).toMatchObject({ ok: true, free_bytes: null, error: 'ENOSYS' });
  });

  it('reconcile: git status finds what the watcher missed, once, then backs off; nothing while the watcher or the queue has it in hand', async () => {
    sb = makeSandbox('sc-daemon-parts-');
    const repo = sb.clone('a');
    const saved = { HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM };
    process.env.HOME = sb.home;
    process.env.GIT_CONFIG_NOSYSTEM = '1';
    try {
      const ws = await resolveWorkspace(repo);
      await ensureStateDir(ws);
      const config: Config = { ...defaultConfig(), process_interval_s: 30, debounce_ms: 1000 };
      const clock = new FakeClock(Date.parse('2030-01-01T00:00:00Z'));
      const t0 = clock.now();
      let watcher = { mode: 'native' as const, watching: true, pending: 0, lastEventAt: null as string | null, lastFireAt: null, error: null };
      const requests: Array<{ at: number; dirty: number }> = [];
      const state = { paused_reason: null as string | null };
      const reconcile = createReconcile({
        ws,
        config,
        clock,
        log: silentLogger,
        state,
        watcherState: () => watcher,
        ignores: (p) => p.endsWith('.tmp'),
        request: async (dirty) => void requests.push({ at: clock.now(), dirty }),
      });
      const pendingEntry = [{} as QueueEntry];

      await reconcile([]);
      expect(requests).toEqual([]); // clean tree
      writeFileSync(join(repo, 'scratch.tmp'), 'ignored by watch.ignore\n');
      await reconcile([]);
      expect(requests).toEqual([]); // only an ignored file: the watcher would skip it too

      writeFileSync(join(repo, 'missed.txt'), 'x\n');
      writeFileSync(join(repo, 'missed2.txt'), 'y\n');
      watcher = { ...watcher, pending: 1 };
      await reconcile([]);
      expect(requests).toEqual([]); // the watcher has it in hand
      watcher = { ...watcher, pending: 0, lastEventAt: new Date(t0 - 1500).toISOString() };
      await reconcile([]);
      expect(requests).toEqual([]); // an event within debounce_ms + 1 s: its quiet period is still running
      await reconcile(pendingEntry);
      expect(requests).toEqual([]); // a request is already queued

      await clock.advance(1000);
      await reconcile([]);
      expect(requests).toEqual([{ at: t0 + 1000, dirty: 2 }]);
      // Still dirty (the sync failed): not again before one process interval, then doubling.
      await clock.advance(29_999);
      await reconcile([]);
      expect(requests).toHaveLength(1);
      await clock.advance(1);
      await reconcile([]);
      await clock.advance(59_999);
      await reconcile([]);
      expect(requests.map((r) => r.at - t0)).toEqual([1000, 31_000]);
      await clock.advance(1);
      await reconcile([]);
      expect(requests.map((r) => r.at - t0)).toEqual([1000, 31_000, 91_000]);
      // Paused syncs: nothing.
      state.paused_reason = 'low disk space';
      await clock.advance(10 * 60_000);
      await reconcile([]);
      expect(requests).toHaveLength(3);
      state.paused_reason = null;

      // Clean again resets the back-off: the next miss is requested at once.
      rmSync(join(repo, 'missed.txt'));
      rmSync(join(repo, 'missed2.txt'));
      await reconcile([]);
      writeFileSync(join(repo, 'again.txt'), 'z\n');
      await reconcile([]);
      expect(requests.at(-1)).toEqual({ at: clock.now(), dirty: 1 });
      expect(requests).toHaveLength(4);
    } finally {
      process.env.HOME = saved.HOME;
      if (saved.GIT_CONFIG_NOSYSTEM === undefined) delete process.env.GIT_CONFIG_NOSYSTEM;
      else process.env.GIT_CONFIG_NOSYSTEM = saved.GIT_CONFIG_NOSYSTEM;
    }
  });

  it('the reconcile check reads its -z status with the shared parser, renames included', () => {
    const paths = (out: string) => parseStatusZ(out).map((e) => e.path);
    expect(paths(' M a.txt\0R  new name.txt\0old.txt\0?? dir/x\0')).toEqual(['a.txt', 'new name.txt', 'dir/x']);
    expect(paths('')).toEqual([]);
  });
});
