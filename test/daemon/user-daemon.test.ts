/**
 * The user daemon (DESIGN.md section 11) with real processes: one daemon serving three
 * workspaces, isolation of a hung remote and of a deleted work tree, `remove`, kill -9
 * and restart with no request lost, the stale socket, the fallback when it is down, the
 * takeover of a per-workspace daemon; and its pure parts (socket checks, slots).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSlots } from '../../src/daemon/slots.js';
import { addWorkspace, readRegistry } from '../../src/shared/registry.js';
import { checkSocketDir, checkSocketFile } from '../../src/shared/socket-check.js';
import { runCli, startCli, waitFor, type CliResult } from '../helpers/cli.js';
import { daemonPids, tryKill } from '../helpers/daemon-procs.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';

const STATE = '.claude/sync-coordination';

const sandboxes: Sandbox[] = [];
const children: ChildProcess[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const s of sandboxes) for (const pid of daemonPids(s.dir)) tryKill(pid);
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) s.close();
  for (const s of sandboxes.splice(0)) s.cleanup();
});

interface Device {
  sb: Sandbox;
  env: NodeJS.ProcessEnv;
  userState: string;
  cli(cwd: string, args: string[], timeoutMs?: number): Promise<CliResult>;
}

/** One "device": its own HOME and XDG directories (so its own user daemon). */
function device(prefix: string): Device {
  const sb = makeSandbox(prefix);
  sandboxes.push(sb);
  const xdg = join(sb.dir, 'xdg');
  const runtime = join(xdg, 'run');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const env = { ...sb.env, XDG_CONFIG_HOME: join(xdg, 'config'), XDG_STATE_HOME: join(xdg, 'state'), XDG_RUNTIME_DIR: runtime };
  return { sb, env, userState: join(xdg, 'state', 'sync-coordinator'), cli: (cwd, args, timeoutMs = 60_000) => runCli(args, { cwd, env, timeoutMs }) };
}

async function workspace(d: Device, name: string, config: Record<string, unknown>): Promise<string> {
  const repo = d.sb.clone(name);
  const init = await d.cli(repo, ['init']);
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(join(repo, STATE, 'config.json'), JSON.stringify({ pull_interval_s: 0, watch: { enabled: false }, process_interval_s: 2, ...config }));
  return repo;
}

function onRemote(sb: Sandbox, remote: string, path: string): boolean {
  return spawnSync('git', ['cat-file', '-e', `main:${path}`], { cwd: remote, env: sb.env }).status === 0;
}

function pidOf(repo: string): number | null {
  try {
    return Number(readFileSync(join(repo, STATE, 'daemon.pid'), 'utf8').split('\n')[0]) || null;
  } catch {
    return null;
  }
}

/** A TCP server that accepts and never answers: a remote that hangs. */
async function hungServer(): Promise<number> {
  const held: Socket[] = [];
  const srv = createServer((s) => held.push(s));
  servers.push(srv);
  // close() alone waits for the held connections: end them, so the git still hanging on
  // one (an orphan of a killed daemon) fails instead of hanging on.
  const close = srv.close.bind(srv);
  srv.close = ((cb?: (err?: Error) => void) => {
    for (const s of held) s.destroy();
    return close(cb);
  }) as typeof srv.close;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return (srv.address() as { port: number }).port;
}

describe('user daemon: one process, many workspaces', () => {
  it('serves three workspaces; a hung remote and a deleted work tree are isolated; remove stops one; kill -9 loses no request; the stale socket is replaced; down = fallback', async () => {
    const d = device('sc-user-');
    const [a, b, c] = [await workspace(d, 'a', {}), await workspace(d, 'b', {}), await workspace(d, 'c', { network_timeout_s: 60, retries: { default: 0 } })];
    // Each workspace its own remote, so their syncs are independent.
    const remotes = ['ra.git', 'rb.git', 'rc.git'].map((n) => join(d.sb.dir, n));
    for (const [i, repo] of [a, b, c].entries()) {
      d.sb.git(d.sb.dir, 'clone', '-q', '--bare', d.sb.remote, remotes[i]!);
      d.sb.git(repo, 'remote', 'set-url', 'origin', remotes[i]!);
      d.sb.git(repo, 'fetch', '-q', 'origin');
    }
    for (const repo of [b, c]) expect((await d.cli(repo, ['add'])).code).toBe(0);
    const start = await d.cli(a, ['daemon', 'start']);
    expect(start.code, start.stderr).toBe(0);
    const pid = Number(/pid (\d+)/.exec(start.stdout)![1]);
    await waitFor(() => [a, b, c].every((r) => pidOf(r) === pid), { what: 'all three served by one process' });
    expect(daemonPids(d.sb.dir)).toEqual([pid]);
    const sock = join(d.env.XDG_RUNTIME_DIR!, 'sync-coordinator', 'control.sock');
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(join(d.env.XDG_RUNTIME_DIR!, 'sync-coordinator')).mode & 0o777).toBe(0o700);

    // A sync in each, through the socket: the same progress lines and result as in-process.
    for (const [i, repo] of [a, b, c].entries()) {
      writeFileSync(join(repo, `one-${i}.txt`), 'x\n');
      const r = await d.cli(repo, ['sync-now']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^step: preflight\nstep: commit\n[\s\S]*^ok: .*\(op \d{8}-\d{6}-[0-9a-f]{6}\)$/m);
      expect(onRemote(d.sb, remotes[i]!, `one-${i}.txt`)).toBe(true);
    }
    const st = JSON.parse((await d.cli(a, ['status', '--json'])).stdout);
    expect(st.daemon).toMatchObject({ running: true, pid });
    // The user daemon's own log, from outside any work tree: which work trees it serves.
    const ulog = await d.cli(d.sb.dir, ['daemon', 'logs', '--user', '--json', '-n', '200']);
    expect(ulog.code, ulog.stderr).toBe(0);
    const served = ulog.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; root?: string })
      .filter((l) => l.msg === 'serving workspace');
    expect(served.map((l) => l.root).sort()).toEqual([a, b, c].sort());

    // c's remote hangs (accepts, never answers): c's sync holds one of the two slots,
    // a and b still sync at once.
    const port = await hungServer();
    d.sb.git(c, 'remote', 'set-url', 'origin', `git://127.0.0.1:${port}/hung.git`);
    writeFileSync(join(c, 'hung.txt'), 'x\n');
    expect((await d.cli(c, ['request-sync', 'smart', 'test', '--json'])).code).toBe(0);
    await waitFor(async () => JSON.parse((await d.cli(c, ['status', '--json'])).stdout).active !== null, { what: "c's sync in progress" });
    const t0 = Date.now();
    for (const [i, repo] of [a, b].entries()) {
      writeFileSync(join(repo, `two-${i}.txt`), 'x\n');
      const r = await d.cli(repo, ['sync-now', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'processed', result: 'ok' });
    }
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(JSON.parse((await d.cli(c, ['status', '--json'])).stdout).active).not.toBeNull(); // still hung

    // b's work tree deleted: reported, and a is still served.
    // Moved away first: the daemon may be writing inside it while rm walks the tree.
    renameSync(b, `${b}-gone`);
    rmSync(`${b}-gone`, { recursive: true, force: true, maxRetries: 5 });
    await waitFor(
      async () => {
        const l = JSON.parse((await d.cli(a, ['list', '--json'])).stdout) as { workspaces: { path: string; exists: boolean }[] };
        return l.workspaces.find((w) => w.path === b)?.exists === false;
      },
      { what: 'b reported missing' },
    );
    await waitFor(
      () => {
        const s = JSON.parse(readFileSync(join(d.userState, 'daemon-state.json'), 'utf8')) as { workspaces: { path: string; status: string; error: string }[] };
        const wb = s.workspaces.find((w) => w.path === b);
        return wb?.status === 'failed' && /gone|not found/.test(wb.error);
      },
      { what: 'b failed in daemon-state.json' },
    );
    expect(existsSync(b)).toBe(false); // never re-created by the daemon
    writeFileSync(join(a, 'three.txt'), 'x\n');
    expect((await d.cli(a, ['sync-now'])).code).toBe(0);
    expect(onRemote(d.sb, remotes[0]!, 'three.txt')).toBe(true);

    // remove: a's unit stops (its daemon.pid goes), the daemon keeps serving c.
    expect((await d.cli(a, ['remove'])).code).toBe(0);
    await waitFor(() => pidOf(a) === null, { what: "a's daemon.pid removed" });
    expect((await d.cli(a, ['daemon', 'status'])).stdout.trim()).toBe('not running');
    expect(pidOf(c)).toBe(pid);

    // kill -9; a request written while it is dead is served after `daemon start`, and the
    // socket file it left is replaced.
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !daemonPids(d.sb.dir).includes(pid), { what: 'the daemon gone' });
    expect(existsSync(sock)).toBe(true);
    for (const s of servers.splice(0)) s.close();
    d.sb.git(c, 'remote', 'set-url', 'origin', remotes[2]!);
    writeFileSync(join(c, 'while-down.txt'), 'x\n');
    const queued = JSON.parse((await d.cli(c, ['request-sync', 'smart', 'test', '--enqueue-only', '--json'])).stdout);
    const restart = await d.cli(c, ['daemon', 'start']);
    expect(restart.code, restart.stderr).toBe(0);
    await waitFor(() => onRemote(d.sb, remotes[2]!, 'while-down.txt') && onRemote(d.sb, remotes[2]!, 'hung.txt'), {
      what: 'the queued request served after restart',
      timeoutMs: 30_000,
    }).catch((e) => {
      throw new Error(
        `${String(e)}\n${readFileSync(join(c, STATE, 'daemon.log'), 'utf8').slice(-3000)}\n${readFileSync(join(c, STATE, 'coordinator.log'), 'utf8').slice(-3000)}\n${readFileSync(join(d.userState, 'daemon.log'), 'utf8').slice(-2000)}`,
      );
    });
    await waitFor(() => existsSync(join(c, STATE, 'results', `${queued.id}.json`)), { what: 'its result' });
    expect(readFileSync(join(d.userState, 'daemon.log'), 'utf8')).toMatch(/replaced a stale control socket/);

    // Daemon down: sync-now falls back to the in-process path, same output and code.
    expect((await d.cli(c, ['daemon', 'stop'])).code).toBe(0);
    expect(existsSync(sock)).toBe(false);
    writeFileSync(join(c, 'fallback.txt'), 'x\n');
    const fb = await d.cli(c, ['sync-now']);
    expect(fb.code, fb.stderr).toBe(0);
    expect(fb.stdout).toMatch(/^step: preflight\nstep: commit\n[\s\S]*^ok: /m);
    expect(onRemote(d.sb, remotes[2]!, 'fallback.txt')).toBe(true);
  }, 120_000);

  it('takes over a workspace whose per-workspace daemon still runs: stops it first, one daemon after', async () => {
    const d = device('sc-user-mig-');
    const a = await workspace(d, 'a', {});
    const old = startCli(['daemon', 'run'], { cwd: a, env: d.env });
    children.push(old);
    await waitFor(() => pidOf(a) === old.pid, { what: 'the old daemon' });
    const start = await d.cli(a, ['daemon', 'start']);
    expect(start.code, start.stderr).toBe(0);
    await waitFor(() => old.exitCode !== null, { what: 'the old daemon stopped' });
    expect(old.exitCode).toBe(0); // a graceful stop, not a kill
    const pid = Number(/pid (\d+)/.exec(start.stdout)![1]);
    expect(pidOf(a)).toBe(pid);
    expect(daemonPids(d.sb.dir)).toEqual([pid]);
    expect((await d.cli(a, ['daemon', 'stop'])).code).toBe(0);
  }, 60_000);
});

describe('user daemon: changes from other devices within seconds', () => {
  it("two clones with a daemon each: A's saves reach B's work tree within debounce + 15 s, nothing lost", async () => {
    const dA = device('sc-user-propA-');
    const dB = device('sc-user-propB-');
    // B clones A's remote: two devices, one local bare remote.
    const a = await workspace(dA, 'a', {
      debounce_ms: 300,
      max_wait_ms: 2000,
      watch: { enabled: true },
      pull_interval_s: 300,
      poll_active_s: 2,
      rate_limiting_enabled: false,
    });
    const b = join(dB.sb.dir, 'b');
    dB.sb.git(dB.sb.dir, 'clone', '-q', dA.sb.remote, b);
    for (const [k, v] of [
      ['user.name', 'B'],
      ['user.email', 'b@example.test'],
      ['commit.gpgSign', 'false'],
    ] as const)
      dB.sb.git(b, 'config', k, v);
    expect((await dB.cli(b, ['init'])).code).toBe(0);
    writeFileSync(
      join(b, STATE, 'config.json'),
      JSON.stringify({
        debounce_ms: 300,
        watch: { enabled: true },
        pull_interval_s: 300,
        poll_active_s: 2,
        process_interval_s: 5,
        rate_limiting_enabled: false,
      }),
    );
    expect((await dA.cli(a, ['daemon', 'start'])).code).toBe(0);
    expect((await dB.cli(b, ['daemon', 'start'])).code).toBe(0);
    const lags: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      writeFileSync(join(a, 'note.md'), `save ${i}\n`);
      await waitFor(() => existsSync(join(b, 'note.md')) && readFileSync(join(b, 'note.md'), 'utf8') === `save ${i}\n`, {
        what: `save ${i} in B`,
        timeoutMs: 300 + 15_000,
        intervalMs: 100,
      });
      lags.push(Date.now() - t0);
    }
    expect(Math.max(...lags)).toBeLessThan(300 + 15_000);
    expect(spawnSync('git', ['log', '--format=%s', 'origin/main'], { cwd: b, env: dB.env, encoding: 'utf8' }).status).toBe(0);
  }, 90_000);
});

describe('user daemon: registry commands', () => {
  it('add/remove/list; bad paths exit 2, a directory outside git exits 6; nothing is written for bad input', async () => {
    const d = device('sc-user-reg-');
    const a = d.sb.clone('a');
    const reg = join(d.env.XDG_CONFIG_HOME!, 'sync-coordinator', 'workspaces.json');
    expect((await d.cli(d.sb.dir, ['add', 'nope'])).code).toBe(2);
    mkdirSync(join(d.sb.dir, 'plain'));
    expect((await d.cli(d.sb.dir, ['add', 'plain'])).code).toBe(6);
    expect(existsSync(reg)).toBe(false);
    const added = await d.cli(d.sb.dir, ['add', 'a', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const id = JSON.parse(added.stdout).id as string;
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(JSON.parse((await d.cli(a, ['add', '--json'])).stdout)).toMatchObject({ added: false, id });
    const list = JSON.parse((await d.cli(d.sb.dir, ['list', '--json'])).stdout);
    expect(list.workspaces).toEqual([expect.objectContaining({ id, path: a, exists: true })]);
    expect(statSync(reg).mode & 0o777).toBe(0o600);
    expect((await d.cli(d.sb.dir, ['remove', 'plain'])).code).toBe(2);
    expect((await d.cli(d.sb.dir, ['remove', id])).code).toBe(0);
    expect(JSON.parse((await d.cli(d.sb.dir, ['list', '--json'])).stdout).workspaces).toEqual([]);
  });

  it('concurrent adds all land: five CLI processes and twenty in-process adds at once lose no entry', async () => {
    const d = device('sc-user-reg-race-');
    const clones = [0, 1, 2, 3, 4].map((i) => d.sb.clone(`r${i}`));
    const results = await Promise.all(clones.map((c) => d.cli(c, ['add', '--json'])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const reg = join(d.env.XDG_CONFIG_HOME!, 'sync-coordinator', 'workspaces.json');
    expect((await readRegistry(reg)).workspaces.map((w) => w.path).sort()).toEqual([...clones].sort());
    // In one process the read-modify-writes interleave at every await: without the
    // registry lock most of these would overwrite each other.
    const paths = Array.from({ length: 20 }, (_, i) => `/nonexistent/sc-race/${i}`);
    await Promise.all(paths.map((p) => addWorkspace(reg, p)));
    expect((await readRegistry(reg)).workspaces).toHaveLength(25);
    expect(existsSync(`${reg}.lock`)).toBe(false);
  });
});

describe('user daemon: pure parts', () => {
  const st = (o: { uid: number; mode: number; dir?: boolean; sock?: boolean; link?: boolean }) => ({
    uid: o.uid,
    mode: o.mode,
    isDirectory: () => !!o.dir,
    isSocket: () => !!o.sock,
    isSymbolicLink: () => !!o.link,
  });
  it('refuses a socket or directory of another user, with group/other access, or of the wrong kind', () => {
    expect(checkSocketDir(st({ uid: 1000, mode: 0o40700, dir: true }), 1000, '/d')).toEqual({ ok: true });
    expect(checkSocketDir(st({ uid: 1001, mode: 0o40700, dir: true }), 1000, '/d')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/owned by uid 1001/),
    });
    expect(checkSocketDir(st({ uid: 1000, mode: 0o40755, dir: true }), 1000, '/d')).toMatchObject({ ok: false, reason: expect.stringMatching(/mode 755/) });
    expect(checkSocketDir(st({ uid: 1000, mode: 0o120777, link: true }), 1000, '/d')).toMatchObject({ ok: false, reason: expect.stringMatching(/symlink/) });
    expect(checkSocketFile(st({ uid: 1000, mode: 0o140600, sock: true }), 1000, '/s')).toEqual({ ok: true });
    expect(checkSocketFile(st({ uid: 0, mode: 0o140600, sock: true }), 1000, '/s')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/owned by uid 0/),
    });
    expect(checkSocketFile(st({ uid: 1000, mode: 0o140660, sock: true }), 1000, '/s')).toMatchObject({ ok: false, reason: expect.stringMatching(/mode 660/) });
    expect(checkSocketFile(st({ uid: 1000, mode: 0o100600 }), 1000, '/s')).toMatchObject({ ok: false, reason: expect.stringMatching(/not a socket/) });
  });

  it('a client refuses a socket whose mode is wrong and falls back to the CLI path', async () => {
    const d = device('sc-user-sock-');
    const a = d.sb.clone('a');
    const dir = join(d.env.XDG_RUNTIME_DIR!, 'sync-coordinator');
    mkdirSync(dir, { mode: 0o755 });
    const srv = (await import('node:http')).createServer((_q, r) => r.end('{}'));
    servers.push(srv as unknown as Server);
    await new Promise<void>((r) => srv.listen(join(dir, 'control.sock'), () => r()));
    const r = await d.cli(a, ['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not using the control socket: .* mode 755, expected 700/);
    expect(JSON.parse(r.stdout).daemon).toMatchObject({ running: false }); // answered by the CLI, not by the fake
  });

  it('slots cap concurrent work and serve waiters in order; an aborted waiter leaves the line', async () => {
    const slots = createSlots(2);
    const never = new AbortController().signal;
    const r1 = await slots.acquire(never);
    const r2 = await slots.acquire(never);
    const order: number[] = [];
    const ac = new AbortController();
    const w3 = slots.acquire(never).then((r) => {
      order.push(3);
      return r;
    });
    const w4 = slots.acquire(ac.signal).then(
      () => order.push(4),
      () => order.push(-4),
    );
    const w5 = slots.acquire(never).then((r) => {
      order.push(5);
      return r;
    });
    expect(slots.inUse()).toBe(2);
    ac.abort();
    await w4;
    r1();
    r1(); // a double release frees one slot only
    const r3 = await w3;
    expect(slots.inUse()).toBe(2);
    r2();
    const r5 = await w5;
    expect(order).toEqual([-4, 3, 5]);
    r3();
    r5();
    expect(slots.inUse()).toBe(0);
  });
});
