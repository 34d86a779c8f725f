/**
 * The local HTTP API (DESIGN.md section 12) against a real user daemon process, real
 * repositories and a real bare remote: the TCP guard (token, Host, Origin), every route
 * with its answers checked against the daemon's own OpenAPI document, the event stream
 * with Last-Event-ID, history, the user's pause across a restart, bad input that changes
 * nothing, and the same routes on the Unix socket without a token.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { daemonPids, tryKill } from '../helpers/daemon-procs.js';
import type { Sandbox } from '../helpers/git-fixture.js';
import { device, http, type Json, sse, STATE, startDaemon, workspace } from './harness.js';
import { openapiChecker } from './openapi-check.js';

const sandboxes: Sandbox[] = [];
afterEach(() => {
  for (const s of sandboxes) for (const pid of daemonPids(s.dir)) tryKill(pid);
  for (const s of sandboxes.splice(0)) s.cleanup();
});

function onRemote(sb: Sandbox, path: string): boolean {
  return spawnSync('git', ['cat-file', '-e', `main:${path}`], { cwd: sb.remote, env: sb.env }).status === 0;
}

const W = '/api/v1/workspaces';

describe('HTTP API', () => {
  it('guards the TCP listener, serves every route as documented, streams events, keeps history, pauses across a restart, and survives bad input', async () => {
    const d = await device('sc-api-', sandboxes);
    const a = await workspace(d, 'a');
    const b = await workspace(d, 'b');
    expect((await d.cli(b, ['add'])).code).toBe(0);
    await startDaemon(d, a);
    const tcp = { port: d.port };
    await waitFor(async () => (await http({ socket: d.socket }, 'GET', W)).json?.api?.listening === true, { what: 'the TCP listener' });
    const tokenFile = join(d.configDir, 'api-token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = d.token();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // ---- the guard ---------------------------------------------------------------------
    const none = await http(tcp, 'GET', W);
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ field: 'Authorization', exit_code: 2 });
    expect((await http(tcp, 'GET', W, { token: `${token.slice(0, -1)}x` })).status).toBe(401);
    expect((await http(tcp, 'GET', `${W}?access_token=${token}`)).status).toBe(401); // never from the query string
    const ok = await http(tcp, 'GET', W, { token });
    expect(ok.status).toBe(200);
    for (const h of ['access-control-allow-origin', 'access-control-allow-credentials', 'set-cookie']) expect(ok.headers[h]).toBeUndefined();
    expect((await http(tcp, 'GET', W, { token, host: 'evil.example:80' })).status).toBe(421);
    expect((await http(tcp, 'GET', W, { token, host: `evil.example:${d.port}` })).status).toBe(421);
    expect((await http(tcp, 'GET', W, { token, host: `localhost:${d.port}` })).status).toBe(200);
    const ids = (ok.json.workspaces as { id: string; path: string }[]).map((w) => w.id);
    expect(ids).toHaveLength(2);
    const idA = (ok.json.workspaces as { id: string; path: string }[]).find((w) => w.path === a)!.id;
    const idB = ids.find((i) => i !== idA)!;
    const foreign = await http(tcp, 'POST', `${W}/${idA}/sync`, { token, origin: 'http://evil.example', body: { type: 'smart' } });
    expect(foreign.status).toBe(403);
    expect(foreign.json.field).toBe('Origin');
    expect((await http(tcp, 'POST', `${W}/${idA}/sync`, { token, origin: 'null', body: { type: 'smart' } })).status).toBe(403);
    const same = await http(tcp, 'POST', `${W}/${idA}/sync`, { token, origin: `http://127.0.0.1:${d.port}`, body: { type: 'smart', caller: 'same-origin' } });
    expect(same.status).toBe(202);
    expect(same.json).toMatchObject({ status: 'queued', type: 'smart', priority: 'normal' });

    // ---- every route, checked against the document the daemon serves --------------------
    const docA = await http(tcp, 'GET', '/api/v1/openapi.json', { token });
    expect(docA.status).toBe(200);
    expect(docA.json.openapi).toBe('3.1.0');
    const api = openapiChecker(docA.json);
    api.check(W, 'GET', ok);
    api.check(W, 'GET', none);
    api.check(`${W}/{id}/sync`, 'POST', same);
    api.check(`${W}/{id}/sync`, 'POST', foreign);
    api.check(`${W}/{id}`, 'GET', await http(tcp, 'GET', `${W}/${idB}`, { token }));
    const status = await http(tcp, 'GET', `${W}/${idA}/status`, { token });
    api.check(`${W}/{id}/status`, 'GET', status);
    expect(status.json.workspace).toBe(a);
    // The same JSON as the CLI (volatile keys aside).
    const cliStatus = JSON.parse((await d.cli(a, ['status', '--json'])).stdout);
    expect(Object.keys(status.json).sort()).toEqual(Object.keys(cliStatus).sort());
    const conflicts = await http(tcp, 'GET', `${W}/${idA}/conflicts`, { token });
    api.check(`${W}/{id}/conflicts`, 'GET', conflicts);
    expect(conflicts.json).toEqual(JSON.parse((await d.cli(a, ['conflicts', '--json'])).stdout));

    // ---- events: a sync's steps and result, then a reconnect that resumes ---------------
    const stream = sse(d.port, token);
    await waitFor(() => stream.status() === 200, { what: 'the event stream' });
    writeFileSync(join(a, 'one.txt'), 'one\n');
    const synced = await http(tcp, 'POST', `${W}/${idA}/sync?wait=1`, { token, body: { type: 'manual', reason: 'api test' } });
    api.check(`${W}/{id}/sync`, 'POST', synced);
    expect(synced.json).toMatchObject({ status: 'processed', result: 'ok', exit_code: 0 });
    expect(onRemote(d.sb, 'one.txt')).toBe(true);
    const op = synced.json.op as string;
    const finished = await stream.until((evs) => evs.find((e) => e.event === 'sync.finished' && e.data.data.op === op), 'sync.finished');
    expect(finished.data).toMatchObject({ workspace: idA, type: 'sync.finished', data: { op, result: 'ok', type: 'manual' } });
    expect(finished.data.data.request_ids).toContain(synced.json.id);
    const queued = stream.events.find((e) => e.event === 'request.queued' && e.data.data.request_id === synced.json.id);
    expect(queued?.data.data).toMatchObject({ type: 'manual', priority: 'high', caller: 'api' });
    const steps = stream.events.filter((e) => e.event === 'step.started' && e.data.data.op === op).map((e) => e.data.data.step);
    expect(steps.slice(0, 2)).toEqual(['preflight', 'commit']);
    expect(steps).toContain('push');
    const seen = stream.events.map((e) => e.id);
    expect(seen).toEqual([...seen].sort((x, y) => x - y)); // in order, no duplicates
    expect(new Set(seen).size).toBe(seen.length);
    const lastSeen = seen[seen.length - 1]!;
    stream.close();
    // Missed while disconnected: a sync of b.
    writeFileSync(join(b, 'two.txt'), 'two\n');
    const syncB = await http(tcp, 'POST', `${W}/${idB}/sync?wait=1`, { token, body: { type: 'manual' } });
    expect(syncB.json.result).toBe('ok');
    const resumed = sse(d.port, token, { lastEventId: lastSeen });
    const missed = await resumed.until((evs) => evs.find((e) => e.event === 'sync.finished' && e.data.data.op === syncB.json.op), 'the missed sync.finished');
    expect(resumed.events[0]!.id).toBe(lastSeen + 1);
    expect(missed.data.workspace).toBe(idB);
    resumed.close();
    // Filtered to a, from the start of the ring: none of b's events.
    const onlyA = sse(d.port, token, { lastEventId: 0, query: `?workspace=${idA}` });
    await onlyA.until((evs) => evs.some((e) => e.event === 'sync.finished'), 'a filtered stream');
    expect(onlyA.events.every((e) => e.data.workspace === idA || e.data.workspace === null)).toBe(true);
    onlyA.close();
    // An id this daemon never handed out (it restarted since): one reset, then live.
    const future = sse(d.port, token, { lastEventId: 1_000_000 });
    const reset = await future.until((evs) => evs.find((e) => e.event === 'reset'), 'reset');
    expect(reset.id).toBeGreaterThanOrEqual(lastSeen);
    future.close();

    // ---- metrics and webhooks, mounted on the same router ------------------------------
    const metrics = await http(tcp, 'GET', '/metrics', { token });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^sync_coordinator_/m);
    expect((await http(tcp, 'GET', '/metrics')).status).toBe(401);
    api.check(`${W}/{id}/webhooks`, 'GET', await http(tcp, 'GET', `${W}/${idA}/webhooks`, { token }));

    // ---- history ------------------------------------------------------------------------
    const hist = await http(tcp, 'GET', `${W}/${idA}/history?limit=5`, { token });
    api.check(`${W}/{id}/history`, 'GET', hist);
    const rec = (hist.json.history as Json[]).find((h) => h.op === op);
    expect(rec).toMatchObject({ type: 'manual', result: 'ok', callers: ['api'], files_changed: ['one.txt'], files_changed_count: 1 });
    expect(rec.steps.map((s: { step: string }) => s.step).slice(0, 2)).toEqual(['preflight', 'commit']);
    for (const s of rec.steps) expect(s.duration_ms).toBeGreaterThanOrEqual(0);
    expect(rec.duration_ms).toBeGreaterThanOrEqual(rec.steps.reduce((n: number, s: { duration_ms: number }) => n + s.duration_ms, 0) - 5);
    expect(hist.json.history[0].finished_at >= hist.json.history.at(-1).finished_at).toBe(true); // newest first
    api.check(`${W}/{id}/history`, 'GET', await http(tcp, 'GET', `${W}/${idA}/history?limit=0`, { token }));

    // ---- bad input: 4xx naming the field, nothing written, the daemon goes on ------------
    const spool = () => readdirSync(join(a, STATE, 'queue')).filter((f) => f.endsWith('.json')).length;
    const before = spool();
    const bad: Array<[string, string, unknown, number, string | undefined, string]> = [
      ['POST', `${W}/${idA}/sync`, { type: 'nope' }, 400, 'type', `${W}/{id}/sync`],
      ['POST', `${W}/${idA}/sync`, { type: 'smart', priority: 'urgent' }, 400, 'priority', `${W}/{id}/sync`],
      ['POST', `${W}/${idA}/sync`, { type: 'smart', reason: 'a\u0007b' }, 400, 'reason', `${W}/{id}/sync`],
      ['POST', `${W}/${idA}/sync`, '{"type": "smart"', 400, 'body', `${W}/{id}/sync`],
      ['POST', `${W}/${idA}/sync`, '[1,2]', 400, 'body', `${W}/{id}/sync`],
      ['POST', `${W}/${idA}/sync`, JSON.stringify({ type: 'smart', reason: 'x'.repeat(70_000) }), 413, 'body', `${W}/{id}/sync`],
      ['POST', `${W}/ffffffffffff/sync`, { type: 'smart' }, 404, 'id', `${W}/{id}/sync`],
      ['GET', `${W}/ffffffffffff/status`, undefined, 404, 'id', `${W}/{id}/status`],
      ['GET', `${W}/${idA}/sync`, undefined, 405, undefined, `${W}/{id}/sync`],
      ['DELETE', `${W}/${idA}`, undefined, 405, undefined, `${W}/{id}`],
      ['GET', `${W}/${idA}/history?limit=x`, undefined, 400, 'limit', `${W}/{id}/history`],
      ['POST', `${W}/${idA}/conflicts/resolve`, { path: 'nothing.txt' }, 400, 'path', `${W}/{id}/conflicts/resolve`],
      ['POST', `${W}/${idA}/conflicts/resolve`, {}, 400, 'path', `${W}/{id}/conflicts/resolve`],
      ['POST', `${W}/${idA}/pause`, { until: 'never' }, 400, 'until', `${W}/{id}/pause`],
    ];
    for (const [method, path, body, code, field, doc] of bad) {
      const r = await http(tcp, method, path, { token, ...(body === undefined ? {} : { body: body as object }) });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(code);
      expect(r.json.exit_code).toBeTypeOf('number');
      if (field) expect(r.json.field, r.text).toBe(field);
      if (code !== 405) api.check(doc, method, r);
      else expect(r.headers.allow).toBeTruthy();
    }
    const unknownRoute = await http(tcp, 'GET', '/api/v1/nope', { token });
    expect(unknownRoute.status).toBe(404);
    expect((await http(tcp, 'GET', '/api/v2/workspaces', { token })).status).toBe(404);
    expect((await http(tcp, 'GET', '/assets/nope.js', { token })).status).toBe(404); // the dashboard serves only its own files
    expect(spool()).toBe(before);
    // Still syncing after all that.
    writeFileSync(join(a, 'after-bad.txt'), 'x\n');
    expect((await http(tcp, 'POST', `${W}/${idA}/sync?wait=1`, { token, body: { type: 'manual' } })).json.result).toBe('ok');
    expect(onRemote(d.sb, 'after-bad.txt')).toBe(true);

    // ---- the Unix socket: same routes, no token ------------------------------------------
    const viaSocket = await http({ socket: d.socket }, 'GET', `${W}/${idA}/history?limit=1`);
    expect(viaSocket.status).toBe(200);
    expect(viaSocket.json.history).toHaveLength(1);

    // ---- pause: automatic syncs stop (also across a restart), sync-now runs, resume -------
    const paused = await http(tcp, 'POST', `${W}/${idA}/pause`, { token });
    api.check(`${W}/{id}/pause`, 'POST', paused);
    expect(paused.json).toMatchObject({ id: idA, changed: true, paused: { reason: 'paused by the user' } });
    expect((await http(tcp, 'POST', `${W}/${idA}/pause`, { token })).json.changed).toBe(false); // idempotent
    expect(JSON.parse((await d.cli(a, ['status', '--json'])).stdout).paused).toMatchObject({ reason: 'paused by the user' });
    expect((await d.cli(a, ['status'])).stdout).toMatch(/PAUSED: .*paused by the user/);
    writeFileSync(join(a, 'while-paused.txt'), 'x\n');
    const auto = await d.cli(a, ['request-sync', 'smart', 'watcher-like', '--wait', '--timeout', '60', '--json']);
    expect(JSON.parse(auto.stdout)).toMatchObject({ result: 'conflict' });
    expect(auto.stderr + auto.stdout).toMatch(/paused by the user/);
    expect(onRemote(d.sb, 'while-paused.txt')).toBe(false);
    // A restart keeps the pause (it is in coordinator-state.json).
    expect((await d.cli(a, ['daemon', 'stop'])).code).toBe(0);
    await startDaemon(d, a);
    await waitFor(async () => (await http(tcp, 'GET', W, { token }).catch(() => null))?.status === 200, { what: 'the API after restart' });
    await waitFor(async () => (await http(tcp, 'GET', `${W}/${idA}/status`, { token })).status === 200, { what: 'a served again' });
    expect((await http(tcp, 'GET', `${W}/${idA}/status`, { token })).json.paused).toMatchObject({ reason: 'paused by the user' });
    const auto2 = await http(tcp, 'POST', `${W}/${idA}/sync?wait=1`, { token, body: { type: 'smart' } });
    expect(auto2.json).toMatchObject({ result: 'conflict', exit_code: 5 });
    expect(onRemote(d.sb, 'while-paused.txt')).toBe(false);
    // sync-now (manual) still syncs, and the pause stays.
    const now = await d.cli(a, ['sync-now', '--json']);
    expect(JSON.parse(now.stdout)).toMatchObject({ result: 'ok' });
    expect(onRemote(d.sb, 'while-paused.txt')).toBe(true);
    expect((await http(tcp, 'GET', `${W}/${idA}/status`, { token })).json.paused).toMatchObject({ reason: 'paused by the user' });
    writeFileSync(join(a, 'after-resume.txt'), 'x\n');
    const events = sse(d.port, token, { query: `?workspace=${idA}` });
    await waitFor(() => events.status() === 200, { what: 'stream' });
    const res = await http(tcp, 'POST', `${W}/${idA}/resume`, { token });
    api.check(`${W}/{id}/resume`, 'POST', res);
    expect(res.json).toMatchObject({ changed: true, paused: null });
    // Resuming starts automatic syncs again: the change made meanwhile goes out by itself.
    await waitFor(() => onRemote(d.sb, 'after-resume.txt'), { what: 'the automatic sync after resume', timeoutMs: 30_000 });
    await events.until((evs) => evs.some((e) => e.event === 'workspace.changed' && e.data.data.paused === null), 'workspace.changed on resume');
    events.close();
    expect(JSON.parse((await d.cli(a, ['status', '--json'])).stdout).paused).toBeNull();
    expect(api.count()).toBeGreaterThan(20);
    expect(readFileSync(join(d.userState, 'daemon.log'), 'utf8')).not.toContain(token);
  }, 180_000);
});
