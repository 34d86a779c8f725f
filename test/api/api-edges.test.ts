/**
 * The HTTP API's other cases with a real daemon: a conflict resolved over HTTP is gone
 * from the CLI's `conflicts` (through the socket and in-process alike); the events a
 * rate-limit rejection, an opened breaker and another device's force push produce;
 * `api.enabled: false` opens no TCP listener; a port already in use is reported while
 * the syncs go on.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, waitFor } from '../helpers/cli.js';
import { daemonPids, tryKill } from '../helpers/daemon-procs.js';
import type { Sandbox } from '../helpers/git-fixture.js';
import { device, freePort, http, STATE, sse, startDaemon, workspace } from './harness.js';

const sandboxes: Sandbox[] = [];
const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  for (const s of sandboxes) for (const pid of daemonPids(s.dir)) tryKill(pid);
  for (const s of sandboxes.splice(0)) s.cleanup();
});

const W = '/api/v1/workspaces';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

describe('HTTP API: conflicts, off, port in use', () => {
  it('resolves a conflict over HTTP; the CLI no longer lists it', async () => {
    const d = await device('sc-api-conf-', sandboxes);
    const a = await workspace(d, 'a', { device_name: 'laptop', rate_limiting_enabled: false });
    const other = d.sb.clone('other');
    await startDaemon(d, a);
    await waitFor(async () => (await http({ port: d.port }, 'GET', W, { token: d.token() }).catch(() => null))?.status === 200, { what: 'the API' });
    const token = d.token();
    const tcp = { port: d.port };
    const id = (await http(tcp, 'GET', W, { token })).json.workspaces[0].id as string;
    const syncA = async () => {
      const r = await http(tcp, 'POST', `${W}/${id}/sync?wait=1`, { token, body: { type: 'manual' } });
      expect(r.json.result, r.text).toBe('ok');
    };
    writeFileSync(join(a, 'notes.txt'), 'one\ntwo\nthree\n');
    await syncA();
    d.sb.git(other, 'pull', '-q');
    writeFileSync(join(other, 'notes.txt'), 'one\ntwo from desk\nthree\n');
    d.sb.git(other, 'commit', '-qam', 'desk');
    d.sb.git(other, 'push', '-q');
    writeFileSync(join(a, 'notes.txt'), 'one\ntwo from laptop\nthree\n');
    const events = sse(d.port, token);
    await waitFor(() => events.status() === 200, { what: 'the event stream' });
    await syncA();
    const conflict = await events.until((evs) => evs.find((e) => e.event === 'conflict'), 'the conflict event');
    expect(conflict.data).toMatchObject({ workspace: id, data: { path: 'notes.txt', outcome: 'copy-created', device: 'laptop' } });
    events.close();

    const listed = await http(tcp, 'GET', `${W}/${id}/conflicts`, { token });
    expect(listed.status).toBe(200);
    expect(listed.json.count).toBe(1);
    const copy = listed.json.copies[0].path as string;
    expect(copy).toMatch(/^notes\.sync-conflict-\d{8}-\d{6}-laptop\.txt$/);
    expect(existsSync(join(a, copy))).toBe(true);
    // The CLI through the socket prints what the in-process CLI prints.
    const viaSocket = await d.cli(a, ['conflicts']);
    const direct = await runCli(['conflicts'], { cwd: a, env: { ...d.env, SYNC_COORDINATOR_NO_SOCKET: '1' } });
    expect(viaSocket.stdout).toBe(direct.stdout);
    expect(viaSocket.stdout).toContain(copy);

    // Bad path: 400 naming it, nothing removed.
    const wrong = await http(tcp, 'POST', `${W}/${id}/conflicts/resolve`, { token, body: { path: 'other.txt' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json).toMatchObject({ field: 'path', exit_code: 2 });
    expect(wrong.json.error).toMatch(/no open conflict at "other.txt"; open: notes.txt/);
    expect(existsSync(join(a, copy))).toBe(true);

    const resolved = await http(tcp, 'POST', `${W}/${id}/conflicts/resolve`, { token, body: { path: 'notes.txt' } });
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.json).toEqual({ resolved: 'notes.txt', resumed: false, removed: [copy] });
    expect(existsSync(join(a, copy))).toBe(false);
    for (const env of [d.env, { ...d.env, SYNC_COORDINATOR_NO_SOCKET: '1' }]) {
      const r = await runCli(['conflicts', '--json'], { cwd: a, env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ count: 0, copies: [] });
    }
    expect(readFileSync(join(a, STATE, 'conflicts.log'), 'utf8')).toContain('"resolved":"notes.txt"');
    // And `conflicts --resolve` through the socket answers as the CLI does for a path with nothing open.
    const again = await d.cli(a, ['conflicts', '--resolve', 'notes.txt']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no open conflict at "notes.txt"/);
  }, 120_000);

  it('a request over the rate limit: rejected at once with exit code 3, one ratelimit.hit event', async () => {
    const d = await device('sc-api-rl-', sandboxes);
    const a = await workspace(d, 'a', { max_syncs_per_hour: 1, burst_capacity: 0 });
    await startDaemon(d, a);
    await waitFor(async () => (await http({ port: d.port }, 'GET', W, { token: d.token() }).catch(() => null))?.status === 200, { what: 'the API' });
    const token = d.token();
    const tcp = { port: d.port };
    const id = (await http(tcp, 'GET', W, { token })).json.workspaces[0].id as string;
    writeFileSync(join(a, 'one.txt'), 'x\n');
    expect((await http(tcp, 'POST', `${W}/${id}/sync?wait=1`, { token, body: { type: 'smart' } })).json.result).toBe('ok');
    const events = sse(d.port, token);
    await waitFor(() => events.status() === 200, { what: 'the event stream' });
    const rejected = await http(tcp, 'POST', `${W}/${id}/sync`, { token, body: { type: 'smart', caller: 'over' } });
    expect(rejected.json).toMatchObject({ status: 'rejected', exit_code: 3 });
    const hit = await events.until((evs) => evs.find((e) => e.event === 'ratelimit.hit'), 'ratelimit.hit');
    expect(hit.data.data).toMatchObject({ request_id: rejected.json.id, status: 'rejected', used: 1, limit: 1 });
    await waitFor(async () => JSON.parse((await d.cli(a, ['status', '--json'])).stdout).stats.rejected === 1, { what: 'the rejection counted' });
    expect(events.events.filter((e) => e.event === 'ratelimit.hit')).toHaveLength(1);
    events.close();
  }, 60_000);

  it('a remote that refuses connections opens its breaker: one breaker.changed event', async () => {
    const d = await device('sc-api-br-', sandboxes);
    const a = await workspace(d, 'a', { breaker: { failure_threshold: 1, cooldown_s: 600 }, retries: { default: 0 } });
    await startDaemon(d, a);
    await waitFor(async () => (await http({ port: d.port }, 'GET', W, { token: d.token() }).catch(() => null))?.status === 200, { what: 'the API' });
    const token = d.token();
    const tcp = { port: d.port };
    const id = (await http(tcp, 'GET', W, { token })).json.workspaces[0].id as string;
    d.sb.git(a, 'remote', 'set-url', 'origin', `git://127.0.0.1:${await freePort()}/gone.git`);
    const events = sse(d.port, token);
    await waitFor(() => events.status() === 200, { what: 'the event stream' });
    writeFileSync(join(a, 'one.txt'), 'x\n');
    const r = await http(tcp, 'POST', `${W}/${id}/sync?wait=1`, { token, body: { type: 'manual' } });
    expect(r.json.result, r.text).toBe('failed');
    const changed = await events.until((evs) => evs.find((e) => e.event === 'breaker.changed'), 'breaker.changed');
    expect(changed.data).toMatchObject({ workspace: id, data: { remote: 'origin', from: 'closed', to: 'open' } });
    const finished = events.events.find((e) => e.event === 'sync.finished');
    expect(finished?.data.data).toMatchObject({ op: r.json.op, result: 'failed' });
    events.close();
  }, 60_000);

  it("another device's force push is followed: one remote.rewritten event naming the backup ref", async () => {
    const d = await device('sc-api-rw-', sandboxes);
    const a = await workspace(d, 'a');
    const other = d.sb.clone('other'); // made before a's commit: its push drops it
    await startDaemon(d, a);
    await waitFor(async () => (await http({ port: d.port }, 'GET', W, { token: d.token() }).catch(() => null))?.status === 200, { what: 'the API' });
    const token = d.token();
    const tcp = { port: d.port };
    const id = (await http(tcp, 'GET', W, { token })).json.workspaces[0].id as string;
    writeFileSync(join(a, 'dropped.txt'), 'x\n');
    expect((await http(tcp, 'POST', `${W}/${id}/sync?wait=1`, { token, body: { type: 'manual' } })).json.result).toBe('ok');
    const dropped = d.sb.git(a, 'rev-parse', 'HEAD').trim();
    writeFileSync(join(other, 'b.txt'), 'b\n');
    d.sb.git(other, 'add', 'b.txt');
    d.sb.git(other, 'commit', '-qm', 'rewrite');
    d.sb.git(other, 'push', '-q', '--force', 'origin', 'main');
    const events = sse(d.port, token);
    await waitFor(() => events.status() === 200, { what: 'the event stream' });
    writeFileSync(join(a, 'after.txt'), 'x\n');
    expect((await http(tcp, 'POST', `${W}/${id}/sync?wait=1`, { token, body: { type: 'manual' } })).json.result).toBe('ok');
    const rw = await events.until((evs) => evs.find((e) => e.event === 'remote.rewritten'), 'remote.rewritten');
    expect(rw.data.data).toMatchObject({ old: dropped });
    expect(rw.data.data.backup_ref).toMatch(/^refs\/sync-coordinator\/backup\//);
    events.close();
  }, 60_000);

  it('api.enabled false: no TCP listener and no token; the socket and the syncs work', async () => {
    const d = await device('sc-api-off-', sandboxes, { enabled: false });
    const a = await workspace(d, 'a');
    await startDaemon(d, a);
    const w = await waitFor(
      async () => (await http({ socket: d.socket }, 'GET', W)).json?.workspaces?.[0]?.status === 'running' && (await http({ socket: d.socket }, 'GET', W)).json,
    );
    expect(w.api).toEqual({ enabled: false, listening: false, url: null, port: null, error: null });
    expect(await refused(d.port)).toBe(true);
    expect(existsSync(join(d.configDir, 'api-token'))).toBe(false);
    expect((await d.cli(a, ['daemon', 'status'])).stdout).toMatch(/api: off/);
    writeFileSync(join(a, 'x.txt'), 'x\n');
    expect((await d.cli(a, ['sync-now'])).code).toBe(0);
  }, 60_000);

  it('a port in use is reported (GET /workspaces, daemon status, daemon.log) and every sync goes on', async () => {
    const d = await device('sc-api-busy-', sandboxes);
    const blocker = createServer((s) => s.destroy());
    await new Promise<void>((r) => blocker.listen(d.port, '127.0.0.1', () => r()));
    closers.push(() => blocker.close());
    const a = await workspace(d, 'a');
    await startDaemon(d, a);
    const w = await waitFor(async () => {
      const r = (await http({ socket: d.socket }, 'GET', W)).json;
      return r?.workspaces?.[0]?.status === 'running' && r;
    });
    expect(w.api).toMatchObject({ enabled: true, listening: false, error: `port ${d.port} is in use` });
    const status = await d.cli(a, ['daemon', 'status']);
    expect(status.stdout).toMatch(new RegExp(`^running \\(pid \\d+\\)\\napi: down \\(port ${d.port} is in use\\)$`, 'm'));
    expect(JSON.parse((await d.cli(a, ['daemon', 'status', '--json'])).stdout).api).toMatchObject({ listening: false, error: `port ${d.port} is in use` });
    expect(readFileSync(join(d.userState, 'daemon.log'), 'utf8')).toMatch(/HTTP API down: port \d+ is in use/);
    writeFileSync(join(a, 'x.txt'), 'x\n');
    const r = await d.cli(a, ['sync-now', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'ok' });
    expect(d.sb.git(a, 'ls-tree', '--name-only', 'origin/main')).toContain('x.txt');
  }, 60_000);
});
