/**
 * The daemon with real processes and real signals: single instance, wake-up on a
 * request, SIGTERM mid-sync, kill -9 and restart, stuck-operation abort, periodic pull,
 * the watcher integration, logs, install-service.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, waitFor, type CliResult } from '../helpers/cli.js';
import { daemonPids, tryKill } from '../helpers/daemon-procs.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';

const STATE = '.claude/sync-coordination';

let sb: Sandbox | null = null;
const children: ChildProcess[] = [];
afterEach(() => {
  // Only processes this file started: the daemons of its sandboxes and its own children.
  if (sb) for (const pid of daemonPids(sb.dir)) tryKill(pid, 'SIGKILL');
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  sb?.cleanup();
  sb = null;
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

interface Setup {
  repo: string;
  env: NodeJS.ProcessEnv;
  cli(args: string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult>;
  state: string;
}

async function setup(config: Record<string, unknown>, opts: { fakeGit?: boolean } = {}): Promise<Setup> {
  sb = makeSandbox('sc-daemon-');
  const repo = sb.clone('a');
  let env = sb.env;
  if (opts.fakeGit) env = { ...env, PATH: `${fakeGitDir(sb.dir)}:${env.PATH}` };
  const cli = (args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) =>
    runCli(args, { cwd: repo, env: o.env ?? env, timeoutMs: o.timeoutMs ?? 30_000 });
  const init = await cli(['init']);
  expect(init.code, init.stderr).toBe(0);
  const state = join(repo, STATE);
  writeFileSync(join(state, 'config.json'), JSON.stringify({ pull_interval_s: 0, watch: { enabled: false }, ...config }));
  return { repo, env, cli, state };
}

/**
 * A git in front of the real one: the subcommand named in the flag file (`push`,
 * `commit`) waits while the flag file exists (up to 30 s), so a test can hold a sync in
 * that step. The flag path is baked in: git children run with an allowlisted environment.
 */
function fakeGitDir(dir: string): string {
  const bin = join(dir, 'fakebin');
  mkdirSync(bin, { recursive: true });
  const real = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  const flag = join(dir, 'hold');
  const started = join(dir, 'hold-started');
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh
sub=
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case "$a" in -c|-C) skip=1 ;; -*) ;; *) sub=$a; break ;; esac
done
hold=
[ -f '${flag}' ] && hold=$(cat '${flag}' 2>/dev/null)
if [ -n "$sub" ] && [ "$sub" = "$hold" ]; then
  : > '${started}'
  i=0
  while [ -f '${flag}' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
fi
exec '${real}' "$@"
`,
  );
  chmodSync(join(bin, 'git'), 0o755);
  return bin;
}

function readPid(state: string): number | null {
  try {
    const n = Number(readFileSync(join(state, 'daemon.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function remoteHas(path: string): boolean {
  const r = spawnSync('git', ['cat-file', '-e', `main:${path}`], { cwd: sb!.remote, env: sb!.env });
  return r.status === 0;
}

/** daemon.log is written by a worker thread: a line shows up shortly after the event. */
function logShows(state: string, text: string): Promise<unknown> {
  return waitFor(() => daemonLogText(state).includes(text), { what: `daemon.log to show ${text}` });
}

/** Whether process `pid` has each of `files` open (symlinks resolved, as /proc shows them). */
function holdsOpen(pid: number, files: string[]): boolean {
  const fdDir = `/proc/${pid}/fd`;
  const open = new Set<string>();
  for (const fd of readdirSync(fdDir)) {
    try {
      open.add(readlinkSync(join(fdDir, fd)));
    } catch {
      // closed meanwhile
    }
  }
  return files.every((f) => open.has(realpathSync(f)));
}

function daemonLogText(state: string): string {
  try {
    return readFileSync(join(state, 'daemon.log'), 'utf8');
  } catch {
    return '';
  }
}

describe('daemon start / status / stop', () => {
  it('one daemon per work tree; a request wakes it at once with a 30 s interval; stop is clean', async () => {
    const t = await setup({ process_interval_s: 30 });
    const start = await t.cli(['daemon', 'start']);
    expect(start.code, start.stderr).toBe(0);
    const pid = Number(/started \(pid (\d+)\)/.exec(start.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect((await t.cli(['daemon', 'status'])).stdout.trim()).toBe(`running (pid ${pid})`);
    const js = JSON.parse((await t.cli(['daemon', 'status', '--json'])).stdout);
    expect(js).toMatchObject({ running: true, pid });
    expect(typeof js.since).toBe('string');

    // A second start changes nothing: exit 0, says so, still exactly one daemon.
    const again = await t.cli(['daemon', 'start']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`already running (pid ${pid})`);
    expect(readPid(t.state)).toBe(pid);
    expect(daemonPids(sb!.dir)).toEqual([pid]);

    // A plain request-sync only enqueues while a daemon runs; the daemon serves it well
    // before its 30 s interval.
    writeFileSync(join(t.repo, 'wake.txt'), 'from the test\n');
    const asked = Date.now();
    const req = await t.cli(['request-sync', 'smart', 'daemon-test', '--json']);
    expect(req.code, req.stderr).toBe(0);
    expect(JSON.parse(req.stdout).status).toBe('queued');
    await waitFor(() => remoteHas('wake.txt'), { what: 'the change on the remote', timeoutMs: 10_000 });
    expect(Date.now() - asked).toBeLessThan(10_000);

    const stop = await t.cli(['daemon', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout.trim()).toBe(`stopped (pid ${pid})`);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(t.state, 'daemon.pid'))).toBe(false);
    expect((await t.cli(['daemon', 'status'])).stdout.trim()).toBe('not running');
    expect((await t.cli(['daemon', 'stop'])).stdout.trim()).toBe('not running');
    // The last lines made it through the log transport.
    expect(daemonLogText(t.state)).toContain('"msg":"daemon stopped"');
    const ds = JSON.parse(readFileSync(join(t.state, 'daemon-state.json'), 'utf8'));
    expect(ds).toMatchObject({ pid, watcher: null, paused_reason: null });
    expect(ds.stopped_at).toEqual(expect.any(String));
    expect(ds.last_health.ok).toBe(true);
  });

  it('kill -9: status says not running, start replaces the stale pid file; a concurrent second start still yields one daemon', async () => {
    const t = await setup({ process_interval_s: 30 });
    const first = await t.cli(['daemon', 'start']);
    expect(first.code, first.stderr).toBe(0);
    const pid = readPid(t.state)!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), { what: 'the daemon to die' });
    expect(existsSync(join(t.state, 'daemon.pid'))).toBe(true); // left behind
    expect((await t.cli(['daemon', 'status'])).stdout.trim()).toBe('not running');

    const restart = await t.cli(['daemon', 'start']);
    expect(restart.code, restart.stderr).toBe(0);
    const pid2 = readPid(t.state)!;
    expect(pid2).not.toBe(pid);
    expect(restart.stdout.trim()).toBe(`started (pid ${pid2})`);
    await waitFor(() => daemonLogText(t.state).includes('replaced the pid file of a daemon that is no longer running'), { what: 'the stale pid file logged' });

    // Killed again, then two starts race over the stale file: one daemon wins, both exit 0.
    process.kill(pid2, 'SIGKILL');
    await waitFor(() => !alive(pid2), { what: 'the daemon to die' });
    const [a, b] = await Promise.all([t.cli(['daemon', 'start']), t.cli(['daemon', 'start'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const pid3 = readPid(t.state)!;
    expect([a.stdout, b.stdout].join('\n')).toContain(`started (pid ${pid3})`);
    await waitFor(() => daemonPids(sb!.dir).length === 1, { what: 'exactly one daemon' });
    expect(daemonPids(sb!.dir)).toEqual([pid3]);

    // `daemon run` while one runs: exit 4, the running one untouched.
    const dup = await t.cli(['daemon', 'run']);
    expect(dup.code).toBe(4);
    expect(dup.stderr).toContain(`already running`);
    expect(readPid(t.state)).toBe(pid3);
    expect((await t.cli(['daemon', 'stop'])).code).toBe(0);
  });
});

describe('daemon and a deleted state directory', () => {
  it('git clean -fdx style removal: the daemon restores its pid file, log and queue watch, and keeps serving', async () => {
    const t = await setup({ process_interval_s: 1 });
    expect((await t.cli(['daemon', 'start'])).code).toBe(0);
    const pid = readPid(t.state)!;
    // config.json goes too, so the daemon reloads the defaults (a 30 s interval): it must
    // notice the removal itself, not wait for its next cycle.
    // The daemon may write into it meanwhile (ENOTEMPTY): try again, like a user would.
    await waitFor(
      () => {
        rmSync(t.state, { recursive: true, force: true });
        return true;
      },
      { what: 'the state directory removed' },
    );
    await waitFor(() => readPid(t.state) === pid && existsSync(join(t.state, 'daemon.log')), { what: 'the pid file and daemon.log restored' }).catch(
      (e: unknown) => {
        const ls = spawnSync('ls', ['-laR', t.state], { encoding: 'utf8' }).stdout;
        throw new Error(`${String(e)}; alive ${alive(pid)}\n${ls}`);
      },
    );
    expect((await t.cli(['daemon', 'status'])).stdout.trim()).toBe(`running (pid ${pid})`);
    writeFileSync(join(t.repo, 'after-clean.txt'), 'x\n');
    expect((await t.cli(['request-sync', 'smart', 'after-clean'])).code).toBe(0);
    await waitFor(() => remoteHas('after-clean.txt'), { what: 'the change on the remote', timeoutMs: 10_000 });
    await logShows(t.state, 'daemon.log was deleted or had failed; reopened it');
    expect((await t.cli(['daemon', 'stop'])).code).toBe(0);
  });
});

describe('daemon and config.json changes', () => {
  it('an invalid change is shown and the daemon keeps its config; a valid one applies at once, same process', async () => {
    const t = await setup({ process_interval_s: 30 });
    expect((await t.cli(['daemon', 'start'])).code).toBe(0);
    const pid = readPid(t.state)!;
    const status = async () => JSON.parse((await t.cli(['status', '--json'])).stdout);
    const cfg = join(t.state, 'config.json');

    // A typo: every command refuses it (exit 2) as always; the running daemon logs it,
    // keeps its config and keeps running; doctor says so.
    writeFileSync(cfg, JSON.stringify({ pull_interval_s: 0, watch: { enabled: false }, process_interval_s: 30, debounce: 300 }));
    await logShows(t.state, 'config.json changed but is not valid; the daemon keeps its running configuration');
    expect(daemonLogText(t.state)).toMatch(/unknown key \\"debounce\\"/);
    expect((await t.cli(['status'])).code).toBe(2);
    const doctor = JSON.parse((await t.cli(['doctor', '--json'])).stdout);
    const check = (name: string) => doctor.checks.find((c: { name: string }) => c.name === name);
    expect(check('config')).toMatchObject({ status: 'fail' });
    expect(check('daemon')).toMatchObject({ status: 'warn' });
    expect(check('daemon').message).toMatch(/on its previous configuration/);
    expect(alive(pid)).toBe(true);

    // Fixed, and turning the watcher on: no restart needed, no request needed.
    writeFileSync(cfg, JSON.stringify({ pull_interval_s: 0, process_interval_s: 30, debounce_ms: 300, max_wait_ms: 2000, watch: { enabled: true } }));
    await waitFor(async () => (await status()).watcher?.watching === true, { what: 'the watcher started by the new config', timeoutMs: 15_000 });
    const after = await status();
    expect(after.daemon).toMatchObject({ running: true, pid });
    expect(readPid(t.state)).toBe(pid);
    expect(daemonPids(sb!.dir)).toEqual([pid]);
    writeFileSync(join(t.repo, 'after-reload.txt'), 'saved\n');
    await waitFor(() => remoteHas('after-reload.txt'), { what: 'the saved file on the remote, through the watcher', timeoutMs: 15_000 });
    await logShows(t.state, 'config.json changed; restarting the daemon loop with it');
    expect((await t.cli(['daemon', 'stop'])).code).toBe(0);
    expect(alive(pid)).toBe(false);
  });
});

describe('daemon housekeeping', () => {
  it('rotates an oversized coordinator.log and survives corrupt queue and state files', async () => {
    const t = await setup({ process_interval_s: 1, log: { max_size_mb: 1, max_files: 3 } });
    const big = `${JSON.stringify({ level: 30, time: Date.now(), msg: 'x'.repeat(1000) })}\n`.repeat(1100);
    writeFileSync(join(t.state, 'coordinator.log'), big);
    expect((await t.cli(['daemon', 'start'])).code).toBe(0);
    const pid = readPid(t.state)!;
    await waitFor(() => existsSync(join(t.state, 'coordinator.log.1')), { what: 'coordinator.log rotated' });
    expect(readFileSync(join(t.state, 'coordinator.log.1'), 'utf8')).toBe(big);

    writeFileSync(join(t.state, 'queue', '0000000000001-1-deadbeef.json'), '{"not": "a request"');
    writeFileSync(join(t.state, 'coordinator-state.json'), '\u0000garbage');
    writeFileSync(join(t.repo, 'after-corrupt.txt'), 'x\n');
    expect((await t.cli(['request-sync', 'smart', 'after-corrupt'])).code).toBe(0);
    await waitFor(() => remoteHas('after-corrupt.txt'), { what: 'the change on the remote', timeoutMs: 10_000 });
    const moved = readdirSync(t.state).concat(readdirSync(join(t.state, 'queue')).map((n) => `queue/${n}`));
    expect(moved.some((n) => n.startsWith('coordinator-state.json.corrupt-'))).toBe(true);
    expect(moved.some((n) => n.startsWith('queue/0000000000001-1-deadbeef.json.corrupt-'))).toBe(true);
    expect(alive(pid)).toBe(true);
    expect((await t.cli(['daemon', 'stop'])).code).toBe(0);
  });
});

describe('daemon run (foreground)', () => {
  it('SIGTERM in the middle of a sync: aborts it, releases the lock, removes the pid file, exits 0, logs the stop', async () => {
    const t = await setup({ process_interval_s: 30 }, { fakeGit: true });
    const child = startCli(['daemon', 'run'], { cwd: t.repo, env: t.env });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => readPid(t.state) === child.pid, { what: 'daemon.pid' });

    writeFileSync(join(sb!.dir, 'hold'), 'push');
    writeFileSync(join(t.repo, 'term.txt'), 'x\n');
    expect((await t.cli(['request-sync', 'smart', 'term-test'])).code).toBe(0);
    await waitFor(() => existsSync(join(sb!.dir, 'hold-started')), { what: 'the sync to reach push' });
    expect(existsSync(join(t.state, 'sync-coordinator.lock'))).toBe(true);

    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    child.kill('SIGTERM');
    const { code, signal } = await exit;
    expect(signal, stderr).toBeNull();
    expect(code, stderr).toBe(0);
    expect(existsSync(join(t.state, 'daemon.pid'))).toBe(false);
    expect(existsSync(join(t.state, 'sync-coordinator.lock'))).toBe(false);
    expect(existsSync(join(t.state, 'lock-owner.json'))).toBe(false);
    expect(remoteHas('term.txt')).toBe(false); // the push was stopped
    const log = daemonLogText(t.state);
    expect(log).toContain('"msg":"daemon stopping"');
    expect(log).toContain('"msg":"daemon stopped"');
    const status = JSON.parse((await t.cli(['status', '--json'])).stdout);
    expect(status.active).toBeNull();
    expect(status.lock.held).toBe(false);
  });

  it('an operation running longer than stuck_timeout_s is aborted and recorded; the daemon keeps serving', async () => {
    const t = await setup({ process_interval_s: 30, stuck_timeout_s: 1 }, { fakeGit: true });
    const child = startCli(['daemon', 'run'], { cwd: t.repo, env: t.env });
    children.push(child);
    await waitFor(() => readPid(t.state) === child.pid, { what: 'daemon.pid' });

    // A local step: network steps have their own time limit (stuck_timeout_s each); the
    // daemon's watchdog bounds the whole operation.
    writeFileSync(join(sb!.dir, 'hold'), 'commit-tree');
    writeFileSync(join(t.repo, 'stuck.txt'), 'x\n');
    expect((await t.cli(['request-sync', 'smart', 'stuck-test'])).code).toBe(0);
    const ds = await waitFor(
      () => {
        const s = JSON.parse(readFileSync(join(t.state, 'daemon-state.json'), 'utf8'));
        return s.last_stuck && !existsSync(join(t.state, 'sync-coordinator.lock')) ? s : null;
      },
      { what: 'the stuck op aborted and the lock released', timeoutMs: 20_000 },
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${daemonLogText(t.state)}`);
    });
    expect(ds.last_stuck.op).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
    expect(ds.last_stuck.step).toBeTruthy();
    await logShows(t.state, 'operation stuck; aborting it');
    expect(child.exitCode).toBeNull();

    // Still serving: with the hold released (and a bound no loaded machine trips over,
    // applied by the daemon's config reload), the next request gets the file out.
    rmSync(join(sb!.dir, 'hold'));
    const cfg = JSON.parse(readFileSync(join(t.state, 'config.json'), 'utf8'));
    writeFileSync(join(t.state, 'config.json'), JSON.stringify({ ...cfg, stuck_timeout_s: 120 }));
    await logShows(t.state, 'config.json changed; restarting the daemon loop with it');
    expect((await t.cli(['request-sync', 'smart', 'after-stuck'])).code).toBe(0);
    await waitFor(() => remoteHas('stuck.txt'), { what: 'the change on the remote', timeoutMs: 15_000 }).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${daemonLogText(t.state)}`);
    });
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });

  it("pulls other devices' changes every pull_interval_s without a local edit", async () => {
    const t = await setup({ pull_interval_s: 1, process_interval_s: 30 });
    const other = sb!.clone('b');
    const child = startCli(['daemon', 'run'], { cwd: t.repo, env: t.env });
    children.push(child);
    await waitFor(() => readPid(t.state) === child.pid, { what: 'daemon.pid' });
    writeFileSync(join(other, 'from-b.txt'), 'hello from b\n');
    sb!.git(other, 'add', 'from-b.txt');
    sb!.git(other, 'commit', '-q', '-m', 'b');
    sb!.git(other, 'push', '-q', 'origin', 'main');
    await waitFor(() => existsSync(join(t.repo, 'from-b.txt')), { what: 'the pull', timeoutMs: 15_000 });
    await logShows(t.state, '"caller":"daemon:pull"');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });

  it('with watch.enabled: changes made while it was down are found by git status at start; a saved file goes through the watcher', async () => {
    const t = await setup({ watch: { enabled: true }, debounce_ms: 200, max_wait_ms: 2000, process_interval_s: 30 });
    writeFileSync(join(t.repo, 'while-down.txt'), 'edited with no daemon running\n');
    const child = startCli(['daemon', 'run'], { cwd: t.repo, env: t.env });
    children.push(child);
    await waitFor(() => remoteHas('while-down.txt'), { what: 'the reconciled change on the remote', timeoutMs: 15_000 });
    await logShows(t.state, '"caller":"daemon:reconcile"');
    await waitFor(() => daemonLogText(t.state).includes('"msg":"watcher ready"'), { what: 'the watcher', timeoutMs: 15_000 });

    writeFileSync(join(t.repo, 'watched.txt'), 'saved\n');
    await waitFor(() => remoteHas('watched.txt'), { what: 'the watched change on the remote', timeoutMs: 15_000 });
    const ds = await waitFor(
      () => {
        const s = JSON.parse(readFileSync(join(t.state, 'daemon-state.json'), 'utf8'));
        return s.watcher?.lastFireAt ? s : null;
      },
      { what: 'watcher state' },
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${readFileSync(join(t.state, 'daemon-state.json'), 'utf8')}\n${daemonLogText(t.state)}`);
    });
    expect(ds.watcher).toMatchObject({ watching: true, mode: 'native' });
    await logShows(t.state, '"caller":"watcher"');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });
});

describe('daemon logs and install-service', () => {
  it('logs prints readable lines (and raw JSON with --json); -f follows new lines', async () => {
    const t = await setup({});
    expect((await t.cli(['daemon', 'start'])).code).toBe(0);
    expect((await t.cli(['request-sync', 'smart', 'logs-test', '--enqueue-only'])).code).toBe(0);
    await waitFor(() => daemonLogText(t.state).includes('"msg":"sync finished"'), { what: 'a sync in the log' });
    const pretty = await t.cli(['daemon', 'logs', '-n', '30']);
    expect(pretty.code, pretty.stderr).toBe(0);
    const lines = pretty.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    expect(pretty.stdout).toMatch(/INFO \(\d+\).*daemon \| daemon started/);
    expect(pretty.stdout).toContain('coordinator | request queued'); // coordinator.log, merged
    expect(pretty.stdout).not.toMatch(/\u001b\[/); // no colours when not a terminal
    for (const l of lines) expect(l.startsWith('{')).toBe(false);

    const raw = await t.cli(['daemon', 'logs', '-n', '3', '--json']);
    const rawLines = raw.stdout.trim().split('\n');
    expect(rawLines).toHaveLength(3);
    for (const l of rawLines) expect(() => JSON.parse(l)).not.toThrow();

    const follow = startCli(['daemon', 'logs', '-f', '-n', '0', '--json'], { cwd: t.repo, env: t.env });
    children.push(follow);
    let out = '';
    follow.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    // -n 0 starts at the files' current ends: a line written before it has opened them is history, not followed.
    await waitFor(() => holdsOpen(follow.pid!, [join(t.state, 'coordinator.log'), join(t.state, 'daemon.log')]), { what: 'logs -f to open both logs' });
    expect((await t.cli(['request-sync', 'smart', 'follow-me', '--enqueue-only'])).code).toBe(0);
    await waitFor(() => out.includes('follow-me'), { what: 'the followed line' });
    follow.kill('SIGINT');
    expect((await t.cli(['daemon', 'stop'])).code).toBe(0);
  });

  it('install-service writes a systemd user unit (and a launchd plist for macOS) into HOME', async () => {
    const t = await setup({});
    const r = await t.cli(['daemon', 'install-service', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    // One user daemon serves every registered work tree: one unit per user.
    expect(out.path).toBe(join(sb!.home, '.config', 'systemd', 'user', 'sync-coordinator.service'));
    expect(out.enable).toContain('systemctl --user enable --now');
    const unit = readFileSync(out.path, 'utf8');
    expect(unit).toContain(`"-C" "${join(sb!.home, '.local', 'state', 'sync-coordinator')}" "daemon" "run" "--user"`);
    const list = JSON.parse((await t.cli(['list', '--json'])).stdout);
    expect(list.workspaces.map((w: { path: string }) => w.path)).toEqual([t.repo]);
    expect(unit).toContain(`"${process.execPath}"`);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^WantedBy=default.target$/m);
    const human = await t.cli(['daemon', 'install-service']);
    expect(human.stdout).toContain('up to date');
    expect(human.stdout).toContain('systemctl --user daemon-reload');

    const mac = JSON.parse((await t.cli(['daemon', 'install-service', '--platform', 'darwin', '--json'])).stdout);
    expect(mac.path).toBe(join(sb!.home, 'Library', 'LaunchAgents', 'com.sync-coordinator.daemon.plist'));
    const plist = readFileSync(mac.path, 'utf8');
    expect(plist).toContain('<string>--user</string>');
    expect(plist).toContain('<key>RunAtLoad</key>');
  });
});
