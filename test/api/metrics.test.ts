/**
 * `GET /metrics` over real HTTP, fed by a real event bus with the events of real syncs
 * (real git, real bare remote) and gauges read from the workspaces' real state files;
 * the exposition text is checked line by line by a strict parser.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../src/api/metrics.js';
import { observeWorkspace } from '../../src/api/observer.js';
import { processQueue } from '../../src/core/coordinator.js';
import { enqueue, newRequestId } from '../../src/core/queue.js';
import { mountObservability, type RouteTable } from '../../src/api/observability.js';
import { buildStatus } from '../../src/core/status-view.js';
import { type BusEvent, createEventBus } from '../../src/shared/events.js';
import { silentLogger } from '../../src/shared/log.js';
import { queueRequest, servedWorkspace, syncOnce, useSandboxEnv } from '../helpers/bus-sync.js';
import { runCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { parsePromText, sampleValue } from '../helpers/prom-text.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function sandbox(): Sandbox {
  const sb = makeSandbox('sc-metrics-');
  cleanups.push(() => sb.cleanup());
  cleanups.push(useSandboxEnv(sb));
  return sb;
}

async function serve(metrics: Metrics): Promise<string> {
  const server: Server = createServer((req, res) => (req.url === '/metrics' ? metrics.handler(req, res) : res.writeHead(404).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;
}

describe('metrics', () => {
  it('counts real syncs, requests, probes and propagation per workspace, reads the gauges from the state files, and serves valid exposition text', async () => {
    const sb = sandbox();
    const a = await servedWorkspace(sb, 'a', 'wa');
    const b = await servedWorkspace(sb, 'b', 'wb');
    // c's remote refuses connections: its one sync fails and opens the breaker.
    const c = await servedWorkspace(sb, 'c', 'wc', { retries: { default: 0 }, breaker: { failure_threshold: 1, cooldown_s: 600 } });
    sb.git(c.repo, 'remote', 'set-url', 'origin', 'git://127.0.0.1:1/refused.git');
    const gone = { view: () => ({ id: 'wd' }), live: () => null };
    const bus = createEventBus();
    const served: { view(): { id: string }; live(): ReturnType<typeof a.live> | null }[] = [a, b, c, gone];
    const metrics = createMetrics({ bus, workspaces: { workspaces: () => served } });
    cleanups.push(() => metrics.close());
    const url = await serve(metrics);

    for (let i = 0; i < 3; i++) {
      writeFileSync(join(a.repo, `a-${i}.txt`), `${i}\n`);
      expect(await syncOnce(bus, a, 'manual', 'sync-now')).toEqual([expect.objectContaining({ type: 'manual', result: 'ok' })]);
    }
    expect(await syncOnce(bus, a, 'smart', 'Post Merge Hook!')).toEqual([expect.objectContaining({ type: 'smart', result: 'noop' })]);
    writeFileSync(join(c.repo, 'c.txt'), 'c\n');
    expect(await syncOnce(bus, c, 'manual', 'sync-now')).toEqual([expect.objectContaining({ result: 'failed' })]);

    // Another device pushes; a probe of a sees the tip move, the next sync integrates it.
    const other = sb.clone('other');
    writeFileSync(join(other, 'from-other.txt'), 'x\n');
    sb.git(other, 'add', '-A');
    sb.git(other, 'commit', '-q', '-m', 'other');
    sb.git(other, 'push', '-q', 'origin', 'main');
    const tip = sb.git(a.repo, 'ls-remote', 'origin', 'refs/heads/main').split('\t')[0];
    bus.emit('probe', 'wa', { moved: false, remote_tip: null });
    bus.emit('probe', 'wa', { moved: true, remote_tip: tip });
    // A sync that started before the probe does not count as integrating what it saw.
    bus.emit('sync.finished', 'wa', { op: 'x', type: 'smart', result: 'ok', message: '', duration_ms: 60_000, request_ids: [] });
    const integrated = await syncOnce(bus, a, 'smart', 'daemon');
    expect(integrated).toEqual([expect.objectContaining({ result: 'ok' })]);
    expect(sb.git(a.repo, 'rev-parse', 'HEAD').trim()).toBe(tip);
    bus.emit('conflict', 'wa', { op: 'x', path: 'f.txt', policy: 'conflict-copy', copy: 'f (conflict).txt' });

    // b: two requests waiting (not processed), one processed.
    writeFileSync(join(b.repo, 'b.txt'), 'b\n');
    await syncOnce(bus, b, 'manual', 'sync-now');
    await queueRequest(bus, b, 'smart', 'hook');
    await queueRequest(bus, b, 'robust', 'hook');

    const t0 = performance.now();
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const t1 = performance.now();
    await (await fetch(url)).text();
    console.log(
      `GET /metrics, 4 workspaces (3 served): first ${(t1 - t0).toFixed(0)} ms, next ${(performance.now() - t1).toFixed(0)} ms, ${text.length} bytes`,
    );
    const f = parsePromText(text);
    const v = (name: string, labels: Record<string, string>, suffix = '') => sampleValue(f, name, labels, suffix);

    expect(f.get('sync_coordinator_syncs_total')?.type).toBe('counter');
    expect(v('sync_coordinator_syncs_total', { workspace: 'wa', type: 'manual', result: 'ok' })).toBe(3);
    expect(v('sync_coordinator_syncs_total', { workspace: 'wa', type: 'smart', result: 'noop' })).toBe(1);
    expect(v('sync_coordinator_syncs_total', { workspace: 'wa', type: 'smart', result: 'ok' })).toBe(2);
    expect(v('sync_coordinator_syncs_total', { workspace: 'wc', type: 'manual', result: 'failed' })).toBe(1);
    expect(v('sync_coordinator_syncs_total', { workspace: 'wb', type: 'manual', result: 'ok' })).toBe(1);
    expect(v('sync_coordinator_requests_total', { workspace: 'wa', trigger: 'sync-now' })).toBe(3);
    expect(v('sync_coordinator_requests_total', { workspace: 'wa', trigger: 'post_merge_hook_' })).toBe(1);
    // Counted when they leave the queue (served or rejected), not when written: b's two are still queued.
    expect(v('sync_coordinator_requests_total', { workspace: 'wb', trigger: 'hook' })).toBeUndefined();
    expect(v('sync_coordinator_requests_total', { workspace: 'wb', trigger: 'sync-now' })).toBe(1);
    expect(v('sync_coordinator_conflicts_total', { workspace: 'wa', policy: 'conflict-copy' })).toBe(1);
    expect(v('sync_coordinator_probes_total', { workspace: 'wa' })).toBe(2);
    expect(v('sync_coordinator_probes_moved_total', { workspace: 'wa' })).toBe(1);

    expect(f.get('sync_coordinator_sync_duration_seconds')?.type).toBe('histogram');
    expect(v('sync_coordinator_sync_duration_seconds', { workspace: 'wa', type: 'manual' }, '_count')).toBe(3);
    expect(v('sync_coordinator_sync_duration_seconds', { workspace: 'wa', type: 'manual', le: '+Inf' }, '_bucket')).toBe(3);
    expect(v('sync_coordinator_sync_duration_seconds', { workspace: 'wa', type: 'manual' }, '_sum')).toBeGreaterThan(0);
    expect(v('sync_coordinator_propagation_seconds', { workspace: 'wa' }, '_count')).toBe(1);
    const propagation = v('sync_coordinator_propagation_seconds', { workspace: 'wa' }, '_sum') ?? -1;
    expect(propagation).toBeGreaterThan(0);
    expect(propagation).toBeLessThan(integrated[0]!.ms / 1000 + 5);

    // Gauges: what status --json says now.
    const [stA, stB, stC] = await Promise.all([a, b, c].map((w) => buildStatus(w.ws, w.config)));
    expect(v('sync_coordinator_queue_depth', { workspace: 'wb' })).toBe(2);
    expect(stB!.queue.pending).toBe(2);
    expect(v('sync_coordinator_queue_depth', { workspace: 'wa' })).toBe(0);
    expect(v('sync_coordinator_rate_limit_used', { workspace: 'wa' })).toBe(stA!.rate_limit.used);
    expect(stA!.rate_limit.used).toBeGreaterThanOrEqual(3);
    expect(v('sync_coordinator_rate_limit_limit', { workspace: 'wa' })).toBe(12);
    expect(v('sync_coordinator_breaker_state', { workspace: 'wa', remote: 'origin' })).toBe(0);
    expect(stC!.breaker.state).toBe('open');
    expect(v('sync_coordinator_breaker_state', { workspace: 'wc', remote: 'origin' })).toBe(2);
    expect(v('sync_coordinator_conflicts_open', { workspace: 'wa' })).toBe(0);
    const last = v('sync_coordinator_last_success_timestamp_seconds', { workspace: 'wa' }) ?? 0;
    expect(last).toBe(Math.floor(Date.parse(stA!.stats.last_success_at!) / 1000));
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(120);
    expect(v('sync_coordinator_last_success_timestamp_seconds', { workspace: 'wc' })).toBeUndefined();
    expect(v('sync_coordinator_workspace_up', { workspace: 'wa' })).toBe(1);
    expect(v('sync_coordinator_workspace_up', { workspace: 'wd' })).toBe(0);
    expect(v('sync_coordinator_queue_depth', { workspace: 'wd' })).toBeUndefined();

    // Process metrics from prom-client's default collectors, on this registry.
    expect(f.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(f.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');

    // A workspace no longer served drops out of the gauges at the next scrape; counters stay.
    served.splice(1, 1);
    const after = parsePromText(await metrics.scrape());
    expect(sampleValue(after, 'sync_coordinator_queue_depth', { workspace: 'wb' })).toBeUndefined();
    expect(sampleValue(after, 'sync_coordinator_workspace_up', { workspace: 'wb' })).toBeUndefined();
    expect(sampleValue(after, 'sync_coordinator_syncs_total', { workspace: 'wb', type: 'manual', result: 'ok' })).toBe(1);
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
  });

  it('folds free-text callers into a bounded set of trigger labels', () => {
    const bus = createEventBus();
    const metrics = createMetrics({ bus, workspaces: { workspaces: () => [] } });
    cleanups.push(() => metrics.close());
    for (let i = 0; i < 30; i++) bus.emit('sync.finished', 'w', { op: `o${i}`, type: 'smart', result: 'ok', requests_by_caller: { [`script ${i}`]: 1 } });
    return metrics.scrape().then((text) => {
      const f = parsePromText(text);
      const triggers = f.get('sync_coordinator_requests_total')!.samples.map((s) => s.labels.trigger);
      expect(triggers).toHaveLength(21);
      expect(sampleValue(f, 'sync_coordinator_requests_total', { workspace: 'w', trigger: 'other' })).toBe(10);
      expect(sampleValue(f, 'sync_coordinator_requests_total', { workspace: 'w', trigger: 'script_0' })).toBe(1);
    });
  });
});

describe('retries and requests from the sync reports', () => {
  it('counts the retry of a push the remote dropped once, by step, and every request when it leaves the queue, whoever wrote it, rejected ones too', async () => {
    const sb = sandbox();
    const a = await servedWorkspace(sb, 'a', 'wa', {
      retries: { default: 2, min_delay_ms: 50, max_delay_ms: 100 },
      rate_limiting_enabled: true,
      max_syncs_per_hour: 1,
      burst_capacity: 0,
    });
    // The remote's receive-pack dies on the first push (the client sees a dropped
    // connection, a transient failure) and accepts the next one.
    const hook = join(sb.remote, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\nif [ ! -e "$GIT_DIR/dropped-once" ]; then : > "$GIT_DIR/dropped-once"; kill -9 $PPID; exit 1; fi\nexit 0\n');
    chmodSync(hook, 0o755);
    const bus = createEventBus();
    const events: BusEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const metrics = createMetrics({ bus, workspaces: { workspaces: () => [a] } });
    cleanups.push(() => metrics.close());
    // The daemon's own observer turns each report into events, as for a served workspace.
    const observer = await observeWorkspace({ id: 'wa', ws: a.ws, config: () => a.config, bus, logger: silentLogger });
    const drain = async () => {
      const n = events.length;
      const report = await processQueue({ ws: a.ws, config: a.config, logger: silentLogger, caller: 'daemon', lockTimeoutMs: 20_000 });
      observer.report(report);
      return waitFor(() => events.slice(n).find((e) => e.type === 'sync.finished' || e.type === 'ratelimit.hit'), { what: 'the report as events' });
    };

    // Two requests spooled by the CLI and one written as the API route writes it (its
    // request.queued is for SSE and must not count a second time): one sync serves all three.
    writeFileSync(join(a.repo, 'x.txt'), 'x\n');
    for (let i = 0; i < 2; i++) expect((await runCli(['request-sync', 'smart', 'my-script', '--enqueue-only'], { cwd: a.repo, env: sb.env })).code).toBe(0);
    await queueRequest(bus, a, 'manual', 'Post Merge Hook!');
    const finished = await drain();
    expect(finished.type).toBe('sync.finished');
    expect(finished.data).toMatchObject({
      result: 'ok',
      retries: 1,
      retries_by_step: { push: 1 },
      requests_by_caller: { 'my-script': 2, 'Post Merge Hook!': 1 },
    });
    expect(sb.git(sb.remote, 'ls-tree', '--name-only', 'main')).toContain('x.txt');

    // The hour's one sync is used: the CLI rejects the next request at once (exit 3); the
    // drain settles its spool file, and it counts with its trigger.
    const rejected = await runCli(['request-sync', 'smart', 'my-script', '--enqueue-only'], { cwd: a.repo, env: sb.env });
    expect(rejected.code, rejected.stderr).toBe(3);
    const hit = await drain();
    expect(hit.data).toMatchObject({ status: 'rejected', caller: 'my-script' });

    const f = parsePromText(await metrics.scrape());
    const v = (name: string, labels: Record<string, string>) => sampleValue(f, name, labels);
    expect(v('sync_coordinator_retries_total', { workspace: 'wa', step: 'push' })).toBe(1);
    expect(f.get('sync_coordinator_retries_total')!.samples).toHaveLength(1);
    expect(v('sync_coordinator_requests_total', { workspace: 'wa', trigger: 'my-script' })).toBe(3);
    expect(v('sync_coordinator_requests_total', { workspace: 'wa', trigger: 'post_merge_hook_' })).toBe(1);
    expect(f.get('sync_coordinator_requests_total')!.samples).toHaveLength(2);
    expect(v('sync_coordinator_rate_limit_hits_total', { workspace: 'wa' })).toBe(1);
  });

  it('counts a request that a sync served without running again (written before it read the work tree) with that sync', async () => {
    const sb = sandbox();
    const a = await servedWorkspace(sb, 'a', 'wa');
    const bus = createEventBus();
    const events: BusEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const metrics = createMetrics({ bus, workspaces: { workspaces: () => [a] } });
    cleanups.push(() => metrics.close());
    const observer = await observeWorkspace({ id: 'wa', ws: a.ws, config: () => a.config, bus, logger: silentLogger });
    writeFileSync(join(a.repo, 'x.txt'), 'x\n');
    const createdAt = new Date().toISOString();
    await enqueue(a.ws.paths.queue, {
      id: newRequestId(),
      type: 'manual',
      caller: 'first',
      priority: 'normal',
      reason: 't',
      created_at: createdAt,
      pid: process.pid,
    });
    // A slow writer: its request was made before the sync read the work tree, but lands
    // in the queue only while the sync runs, so the next round serves it with that sync.
    let late: Promise<unknown> = Promise.resolve();
    const lateId = newRequestId();
    const report = await processQueue({
      ws: a.ws,
      config: a.config,
      logger: silentLogger,
      caller: 'daemon',
      lockTimeoutMs: 20_000,
      onStep: (step) => {
        if (step === 'preflight')
          late = enqueue(a.ws.paths.queue, {
            id: lateId,
            type: 'smart',
            caller: 'late-writer',
            priority: 'normal',
            reason: 't',
            created_at: createdAt,
            pid: process.pid,
          });
      },
    });
    await late;
    const op = report.batches[0]?.op;
    expect(report.batches).toHaveLength(1);
    expect(report.outcomes.get(lateId)).toMatchObject({ status: 'merged', op });
    observer.report(report);
    const finished = await waitFor(() => events.find((e) => e.type === 'sync.finished'), { what: 'sync.finished' });
    expect(finished.data).toMatchObject({ op, retries: 0, requests_by_caller: { first: 1, 'late-writer': 1 } });
    const f = parsePromText(await metrics.scrape());
    expect(sampleValue(f, 'sync_coordinator_requests_total', { workspace: 'wa', trigger: 'late-writer' })).toBe(1);
    expect(sampleValue(f, 'sync_coordinator_requests_total', { workspace: 'wa', trigger: 'first' })).toBe(1);
    expect(f.get('sync_coordinator_retries_total')?.samples ?? []).toHaveLength(0);
  });
});

describe('mountObservability', () => {
  it('mounts GET /metrics and GET /api/v1/workspaces/{id}/webhooks on a route table and stops both on close', async () => {
    const sb = sandbox();
    const a = await servedWorkspace(sb, 'a', 'wa', { webhooks: [{ url: 'https://hooks.example/x?token=abc', events: ['*'], secret: 'a-secret-of-16-chars' }] });
    const bus = createEventBus();
    // The shape of the API's route table (src/api/router.ts): exact segments or {name}.
    const table: { path: string; handler: (c: { req: IncomingMessage; res: ServerResponse; params: Record<string, string> }) => void }[] = [];
    const router: RouteTable = { add: (...routes) => table.push(...routes) };
    const obs = await mountObservability({
      router,
      bus,
      workspaces: { workspaces: () => [a], byId: (id) => (id === 'wa' ? a : undefined) },
      globalConfigFile: join(sb.dir, 'no-global-config.json'),
      log: silentLogger,
    });
    cleanups.push(() => obs.close());
    const server = createServer((req, res) => {
      const segs = new URL(req.url ?? '/', 'http://x').pathname.split('/').filter(Boolean);
      for (const r of table) {
        const parts = r.path.split('/').filter(Boolean);
        if (parts.length !== segs.length) continue;
        if (!parts.every((p, i) => p.startsWith('{') || p === segs[i])) continue;
        const params = Object.fromEntries(parts.flatMap((p, i) => (p.startsWith('{') ? [[p.slice(1, -1), segs[i]!]] : [])));
        return r.handler({ req, res, params });
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    bus.emit('probe', 'wa', { moved: true, remote_tip: 'x' });
    const f = parsePromText(await (await fetch(`${base}/metrics`)).text());
    expect(sampleValue(f, 'sync_coordinator_probes_moved_total', { workspace: 'wa' })).toBe(1);
    expect(sampleValue(f, 'sync_coordinator_workspace_up', { workspace: 'wa' })).toBe(1);
    const hooks = await fetch(`${base}/api/v1/workspaces/wa/webhooks`);
    expect(hooks.status).toBe(200);
    const text = await hooks.text();
    expect(JSON.parse(text)).toMatchObject({ workspace: 'wa', hooks: [{ url: 'https://hooks.example/x?…', events: ['*'], configured: true }] });
    expect(text).not.toMatch(/a-secret-of-16-chars|token=abc/);
  });
});
