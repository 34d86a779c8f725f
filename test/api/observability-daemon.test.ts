/**
 * Metrics and webhooks in the real user daemon (a `daemon start` child process, real
 * repos, a real bare remote): a manual sync and another device's push that a probe sees and
 * a sync integrates show up in `GET /metrics` on the control socket, and as signed
 * deliveries at a local receiver, in `GET .../webhooks` and in `status`; the secret is in
 * none of the daemon's logs or answers. Requests count by trigger whoever wrote them (the
 * CLI, the API route, a git hook), and a push the remote dropped once counts as a retry.
 */
import { createHmac } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, waitFor } from '../helpers/cli.js';
import { daemonPids, tryKill } from '../helpers/daemon-procs.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { parsePromText, sampleValue } from '../helpers/prom-text.js';

const SECRET = 'daemon-hook-secret-5e1f0a9c';
const sandboxes: Sandbox[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const s of sandboxes) for (const pid of daemonPids(s.dir)) tryKill(pid);
  for (const s of servers.splice(0)) s.close();
  for (const s of sandboxes.splice(0)) s.cleanup();
});

function get(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return call(socketPath, 'GET', path);
}

function call(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { host: 'localhost', ...(body ? { 'content-type': 'application/json' } : {}) };
    const req = request({ socketPath, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('metrics and webhooks in the user daemon', () => {
  it('count a manual sync and a probe-driven sync, and deliver them signed', async () => {
    const sb = makeSandbox('sc-observe-');
    sandboxes.push(sb);
    const xdg = join(sb.dir, 'xdg');
    mkdirSync(join(xdg, 'run'), { recursive: true, mode: 0o700 });
    mkdirSync(join(xdg, 'config', 'sync-coordinator'), { recursive: true });
    const env = { ...sb.env, XDG_CONFIG_HOME: join(xdg, 'config'), XDG_STATE_HOME: join(xdg, 'state'), XDG_RUNTIME_DIR: join(xdg, 'run') };
    writeFileSync(join(xdg, 'config', 'sync-coordinator', 'config.json'), JSON.stringify({ api: { enabled: false } }));

    const hits: { type: string; signed: boolean }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const expected = `sha256=${createHmac('sha256', SECRET).update(Buffer.concat(chunks)).digest('hex')}`;
        hits.push({ type: String(req.headers['x-sync-coordinator-event']), signed: req.headers['x-sync-coordinator-signature-256'] === expected });
        res.writeHead(204).end();
      });
    });
    servers.push(receiver);
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

    const repo = sb.clone('a');
    expect((await runCli(['init'], { cwd: repo, env })).code).toBe(0);
    const config = {
      watch: { enabled: false },
      pull_interval_s: 3600,
      poll_active_s: 1,
      webhooks: [{ url, events: ['sync.finished', 'probe'], secret: SECRET }],
    };
    writeFileSync(join(repo, '.claude/sync-coordination/config.json'), JSON.stringify(config));
    const start = await runCli(['daemon', 'start'], { cwd: repo, env });
    expect(start.code, start.stderr).toBe(0);
    const sock = join(xdg, 'run', 'sync-coordinator', 'control.sock');
    const id = await waitFor(
      async () => {
        const w = JSON.parse((await get(sock, '/api/v1/workspaces')).body).workspaces?.[0];
        return w?.status === 'running' ? (w.id as string) : null;
      },
      { what: 'the workspace served' },
    );

    // The daemon's first periodic pull runs at start: let it end, so it does not take the change below.
    await waitFor(async () => (await get(sock, '/metrics')).body.includes('sync_coordinator_syncs_total{'), { what: "the daemon's first pull" });
    // Through the socket, so the daemon runs it (a CLI may fall back to syncing in-process).
    writeFileSync(join(repo, 'x.txt'), 'x\n');
    const r = await call(sock, 'POST', `/api/v1/workspaces/${id}/sync?wait=1`, JSON.stringify({ type: 'manual', caller: 'sync-now' }));
    expect(JSON.parse(r.body)).toMatchObject({ result: 'ok' });

    // Another device pushes; a probe sees the tip move and the daemon integrates it.
    const other = sb.clone('other');
    writeFileSync(join(other, 'o.txt'), 'o\n');
    sb.git(other, 'add', '-A');
    sb.git(other, 'commit', '-q', '-m', 'other device');
    sb.git(other, 'push', '-q', 'origin', 'main');
    const f = await waitFor(
      async () => {
        const m = await get(sock, '/metrics');
        const parsed = parsePromText(m.body);
        return (sampleValue(parsed, 'sync_coordinator_propagation_seconds', { workspace: id }, '_count') ?? 0) >= 1 ? parsed : null;
      },
      { what: 'a probe-driven sync counted in propagation', timeoutMs: 30_000 },
    );
    expect(readFileSync(join(repo, 'o.txt'), 'utf8')).toBe('o\n');
    expect(sampleValue(f, 'sync_coordinator_syncs_total', { workspace: id, type: 'manual', result: 'ok' })).toBe(1);
    expect(sampleValue(f, 'sync_coordinator_syncs_total', { workspace: id, type: 'smart', result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(f, 'sync_coordinator_probes_moved_total', { workspace: id })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(f, 'sync_coordinator_workspace_up', { workspace: id })).toBe(1);
    console.log(`propagation (probe saw the push → integrated): ${sampleValue(f, 'sync_coordinator_propagation_seconds', { workspace: id }, '_sum')} s`);

    await waitFor(() => hits.filter((h) => h.type === 'sync.finished').length >= 2 && hits.some((h) => h.type === 'probe'), { what: 'the deliveries' });
    expect(hits.every((h) => h.signed)).toBe(true);
    const view = await waitFor(
      async () => {
        const v = JSON.parse((await get(sock, `/api/v1/workspaces/${id}/webhooks`)).body);
        return v.hooks?.[0]?.delivered === hits.length ? v : null;
      },
      { what: 'every delivery recorded' },
    );
    expect(view.hooks[0]).toMatchObject({ url, configured: true, failed: 0 });
    const status = await runCli(['status', '--json'], { cwd: repo, env });
    expect(JSON.parse(status.stdout).webhooks.hooks[0].delivered).toBe(hits.length);

    expect((await runCli(['daemon', 'stop'], { cwd: repo, env })).code).toBe(0);
    const logs = [join(xdg, 'state', 'sync-coordinator', 'daemon.log'), join(repo, '.claude/sync-coordination/daemon.log')].map((p) => readFileSync(p, 'utf8'));
    for (const text of [...logs, status.stdout, JSON.stringify(view)]) expect(text).not.toContain(SECRET);
  }, 90_000);

  it('counts requests by trigger from the CLI, the API route and a git hook, and the retry of a push the remote dropped once', async () => {
    const sb = makeSandbox('sc-observe-req-');
    sandboxes.push(sb);
    const xdg = join(sb.dir, 'xdg');
    mkdirSync(join(xdg, 'run'), { recursive: true, mode: 0o700 });
    mkdirSync(join(xdg, 'config', 'sync-coordinator'), { recursive: true });
    const env = { ...sb.env, XDG_CONFIG_HOME: join(xdg, 'config'), XDG_STATE_HOME: join(xdg, 'state'), XDG_RUNTIME_DIR: join(xdg, 'run') };
    writeFileSync(join(xdg, 'config', 'sync-coordinator', 'config.json'), JSON.stringify({ api: { enabled: false } }));
    const repo = sb.clone('a');
    expect((await runCli(['init'], { cwd: repo, env })).code).toBe(0);
    const config = { watch: { enabled: false }, pull_interval_s: 3600, poll_active_s: 3600, retries: { default: 2, min_delay_ms: 50, max_delay_ms: 100 } };
    writeFileSync(join(repo, '.claude/sync-coordination/config.json'), JSON.stringify(config));
    const hooks = await runCli(['hooks', 'install'], { cwd: repo, env });
    expect(hooks.code, hooks.stderr).toBe(0);
    expect((await runCli(['daemon', 'start'], { cwd: repo, env })).code).toBe(0);
    const sock = join(xdg, 'run', 'sync-coordinator', 'control.sock');
    const id = await waitFor(
      async () => {
        const w = JSON.parse((await get(sock, '/api/v1/workspaces')).body).workspaces?.[0];
        return w?.status === 'running' ? (w.id as string) : null;
      },
      { what: 'the workspace served' },
    );
    await waitFor(async () => (await get(sock, '/metrics')).body.includes('sync_coordinator_syncs_total{'), { what: "the daemon's first pull" });
    const requests = async () => {
      const f = parsePromText((await get(sock, '/metrics')).body);
      return (trigger: string) => sampleValue(f, 'sync_coordinator_requests_total', { workspace: id, trigger }) ?? 0;
    };

    // The remote's receive-pack dies on the first push (a dropped connection, transient).
    const hook = join(sb.remote, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\nif [ ! -e "$GIT_DIR/dropped-once" ]; then : > "$GIT_DIR/dropped-once"; kill -9 $PPID; exit 1; fi\nexit 0\n');
    chmodSync(hook, 0o755);
    writeFileSync(join(repo, 'x.txt'), 'x\n');
    const r = await call(sock, 'POST', `/api/v1/workspaces/${id}/sync?wait=1`, JSON.stringify({ type: 'manual', caller: 'api-client' }));
    expect(JSON.parse(r.body)).toMatchObject({ result: 'ok' });
    expect(sb.git(sb.remote, 'ls-tree', '--name-only', 'main')).toContain('x.txt');

    // The CLI spools its requests and leaves them to the daemon.
    for (let i = 0; i < 2; i++) {
      const cli = await runCli(['request-sync', 'smart', 'cli-script', '--wait', '--json'], { cwd: repo, env });
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ status: 'processed' });
    }
    // A merge fires the installed post-merge hook, which spools a request in sh.
    sb.git(repo, 'checkout', '-q', '-b', 'side');
    sb.git(repo, 'commit', '-q', '--allow-empty', '-m', 'side');
    sb.git(repo, 'checkout', '-q', 'main');
    sb.git(repo, 'merge', '-q', '--no-ff', '-m', 'merge side', 'side');
    const count = await waitFor(async () => ((await requests())('git-hook_post-merge') >= 1 ? await requests() : null), {
      what: 'the hook request counted',
      timeoutMs: 30_000,
    });
    expect(count('git-hook_post-merge')).toBe(1);
    expect(count('cli-script')).toBe(2);
    expect(count('api-client')).toBe(1);
    const f = parsePromText((await get(sock, '/metrics')).body);
    expect(sampleValue(f, 'sync_coordinator_retries_total', { workspace: id, step: 'push' })).toBe(1);
    expect((await runCli(['daemon', 'stop'], { cwd: repo, env })).code).toBe(0);
  }, 90_000);
});
