/**
 * Signed webhooks against real local HTTP receivers (node:http on 127.0.0.1:0) that
 * check the signature with the secret, fed by a real bus with the events of real syncs:
 * delivery and signature, retries with backoff, a receiver that hangs (timeouts counted,
 * the sync not delayed), no redirects, final 4xx, the bounded queue, the deliveries in
 * `status` and the API; and the config checks, with the secret printed nowhere.
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhooks, type Webhooks, type WebhooksOptions } from '../../src/api/webhooks.js';
import { packageVersion } from '../../src/shared/package-root.js';
import { appendDelivery, webhooksView } from '../../src/core/webhook-deliveries.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/shared/config-schema.js';
import { EVENT_TYPES, createEventBus, type EventBus } from '../../src/shared/events.js';
import type { Logger } from '../../src/shared/log.js';
import { STATE, servedWorkspace, syncOnce, useSandboxEnv, type ServedFixture } from '../helpers/bus-sync.js';
import { runCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const SECRET = 'wh-secret-7f3a9c1e5b2d4f60';
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Hit {
  at: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  signatureOk: boolean;
}

/** A receiver that verifies each POST's signature and answers with `answer(n)` (n from 1), or never answers. */
async function receiver(answer: (n: number, res: ServerResponse) => number | 'hang' = () => 200): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const expected = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
      hits.push({ at: Date.now(), headers: req.headers, body, signatureOk: req.headers['x-sync-coordinator-signature-256'] === expected });
      const status = answer(hits.length, res);
      if (status !== 'hang') res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, hits };
}

function capturingLogger(lines: string[]): Logger {
  const log = (level: string) => (obj: object, msg?: string) => lines.push(JSON.stringify({ level, ...obj, msg }));
  const logger: Logger = { trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return logger;
}

interface Setup {
  sb: Sandbox;
  bus: EventBus;
  a: ServedFixture;
  hooks: Webhooks;
  logs: string[];
}

async function setup(hooksConfig: unknown[], opts: Partial<WebhooksOptions> = {}, extraConfig: Record<string, unknown> = {}): Promise<Setup> {
  const sb = makeSandbox('sc-webhooks-');
  cleanups.push(() => sb.cleanup());
  cleanups.push(useSandboxEnv(sb));
  const a = await servedWorkspace(sb, 'a', 'wa', { webhooks: hooksConfig, ...extraConfig });
  const bus = createEventBus();
  const logs: string[] = [];
  const hooks = createWebhooks({ bus, workspaces: { byId: (id) => (id === 'wa' ? a : undefined) }, log: capturingLogger(logs), retryBaseMs: 20, ...opts });
  cleanups.push(() => hooks.close());
  return { sb, bus, a, hooks, logs };
}

function deliveries(a: ServedFixture) {
  return JSON.parse(readFileSync(join(a.ws.paths.dir, 'webhook-deliveries.json'), 'utf8')) as {
    hooks: {
      id: string;
      url: string;
      deliveries: { id: string; event: string; outcome: string; status: number | null; error: string | null; tries: number; duration_ms: number }[];
    }[];
  };
}

describe('webhooks', () => {
  it('delivers the events a hook asks for, once each, signed over the raw body; status, the API and the logs show them and never the secret', async () => {
    const only = await receiver();
    const all = await receiver();
    const global = await receiver();
    const { sb, bus, a, hooks, logs } = await setup([
      { url: only.url, events: ['sync.finished'], secret: SECRET },
      { url: all.url, events: ['*'], secret: SECRET },
    ]);
    // The user's global config.json, where status (and the daemon) read it.
    const globalFile = join(sb.home, '.config', 'sync-coordinator', 'config.json');
    mkdirSync(dirname(globalFile), { recursive: true });
    writeFileSync(globalFile, JSON.stringify({ webhooks: [{ url: global.url, events: ['request.queued'], secret: SECRET }] }));
    await hooks.close();
    const withGlobal = createWebhooks({
      bus,
      workspaces: { byId: (id) => (id === 'wa' ? a : undefined) },
      globalConfigFile: globalFile,
      log: capturingLogger(logs),
      retryBaseMs: 20,
    });
    cleanups.push(() => withGlobal.close());

    writeFileSync(join(a.repo, 'one.txt'), '1\n');
    bus.emit('probe', 'wa', { moved: false, remote_tip: null });
    const [done] = await syncOnce(bus, a, 'manual', 'sync-now');
    expect(done?.result).toBe('ok');
    await withGlobal.idle();

    expect(only.hits).toHaveLength(1);
    const hit = only.hits[0]!;
    expect(hit.signatureOk).toBe(true);
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['user-agent']).toBe(`sync-coordinator/${packageVersion()}`);
    expect(hit.headers['x-sync-coordinator-event']).toBe('sync.finished');
    expect(hit.headers['x-sync-coordinator-delivery']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const body = JSON.parse(hit.body.toString('utf8'));
    expect(Object.keys(body).sort()).toEqual(['data', 'id', 'time', 'type', 'workspace']);
    expect(body).toMatchObject({ type: 'sync.finished', workspace: 'wa', data: { op: done!.op, type: 'manual', result: 'ok' } });
    expect(typeof body.id).toBe('number');

    // "*" gets every event of the sync, in order, but not the probe; each delivery its own id.
    const types = all.hits.map((h) => h.headers['x-sync-coordinator-event']);
    expect(types).not.toContain('probe');
    expect(types[0]).toBe('request.queued');
    expect(types).toContain('step.started');
    expect(types.at(-1)).toBe('sync.finished');
    expect(all.hits.every((h) => h.signatureOk)).toBe(true);
    expect(new Set(all.hits.map((h) => h.headers['x-sync-coordinator-delivery'])).size).toBe(all.hits.length);
    const ids = all.hits.map((h) => JSON.parse(h.body.toString('utf8')).id as number);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    // The global config's hook applies to the workspace too.
    expect(global.hits.map((h) => h.headers['x-sync-coordinator-event'])).toEqual(['request.queued']);

    const file = deliveries(a);
    const onlyRec = file.hooks.find((h) => h.url === only.url)!;
    expect(onlyRec.deliveries).toEqual([
      expect.objectContaining({
        event: 'sync.finished',
        outcome: 'delivered',
        status: 200,
        error: null,
        tries: 1,
        id: hit.headers['x-sync-coordinator-delivery'],
      }),
    ]);
    expect(file.hooks.find((h) => h.url === all.url)!.deliveries).toHaveLength(all.hits.length);

    // status (no daemon needed) and the API read the same file.
    const st = await runCli(['status', '--json'], { cwd: a.repo, env: sb.env });
    expect(st.code, st.stderr).toBe(0);
    const view = JSON.parse(st.stdout).webhooks;
    expect(view.hooks.map((h: { url: string; delivered: number; configured: boolean }) => [h.url, h.delivered, h.configured])).toEqual([
      [only.url, 1, true],
      [all.url, all.hits.length, true],
      [global.url, 1, true],
    ]);
    const human = await runCli(['status'], { cwd: a.repo, env: sb.env });
    expect(human.stdout).toContain(
      `webhook:    ${only.url} [sync.finished]: 1 delivered, 0 failed, 0 dropped (of the last 1); last: sync.finished delivered (HTTP 200), 1 try`,
    );

    const api = createServer((req, res) => withGlobal.deliveriesHandler(req, res));
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => api.close(() => r())));
    const base = `http://127.0.0.1:${(api.address() as { port: number }).port}/api/v1/workspaces`;
    const res = await fetch(`${base}/wa/webhooks`);
    expect(res.status).toBe(200);
    const apiText = await res.text();
    const apiView = JSON.parse(apiText);
    expect(apiView.workspace).toBe('wa');
    expect(apiView.hooks.map((h: { url: string }) => h.url)).toEqual([only.url, all.url, global.url]);
    expect(apiView.hooks[0].deliveries).toEqual(onlyRec.deliveries);
    expect((await fetch(`${base}/nope/webhooks`)).status).toBe(404);

    const doctor = await runCli(['doctor', '--json'], { cwd: a.repo, env: sb.env });
    for (const text of [
      st.stdout,
      st.stderr,
      human.stdout,
      apiText,
      readFileSync(join(a.ws.paths.dir, 'webhook-deliveries.json'), 'utf8'),
      logs.join('\n'),
      doctor.stdout,
      doctor.stderr,
    ])
      expect(text).not.toContain(SECRET);
  });

  it('tries again after 500s with exponential backoff, and keeps one delivery id across the tries', async () => {
    const r = await receiver((n) => (n <= 2 ? 500 : 200));
    const { bus, a, hooks } = await setup([{ url: r.url, events: ['sync.finished'], secret: SECRET }]);
    writeFileSync(join(a.repo, 'one.txt'), '1\n');
    await syncOnce(bus, a, 'manual');
    await hooks.idle();
    expect(r.hits).toHaveLength(3);
    expect(r.hits.every((h) => h.signatureOk)).toBe(true);
    expect(new Set(r.hits.map((h) => h.headers['x-sync-coordinator-delivery'])).size).toBe(1);
    // Waits of 20 ms then 40 ms (retryBaseMs 20): a timer never fires early by more than a ms.
    expect(r.hits[1]!.at - r.hits[0]!.at).toBeGreaterThanOrEqual(19);
    expect(r.hits[2]!.at - r.hits[1]!.at).toBeGreaterThanOrEqual(39);
    expect(deliveries(a).hooks[0]!.deliveries).toEqual([expect.objectContaining({ outcome: 'delivered', status: 200, tries: 3 })]);
  });

  it('a receiver that hangs never delays the sync its events come from', async () => {
    // Baseline: the same kind of sync with no hook (the second sync of a fresh clone).
    const plain = await setup([]);
    writeFileSync(join(plain.a.repo, 'one.txt'), '1\n');
    await syncOnce(plain.bus, plain.a, 'manual');
    writeFileSync(join(plain.a.repo, 'two.txt'), '2\n');
    const [base] = await syncOnce(plain.bus, plain.a, 'manual');

    // The real timeout (5 s): a dispatcher that made the emitter wait would add at least
    // that to the sync, whose every step goes to a receiver that never answers.
    const hung = await receiver(() => 'hang');
    const { bus, a } = await setup([{ url: hung.url, events: ['*'], secret: SECRET }], { retryBaseMs: 1000 });
    writeFileSync(join(a.repo, 'one.txt'), '1\n');
    await syncOnce(bus, a, 'manual');
    writeFileSync(join(a.repo, 'two.txt'), '2\n');
    const t0 = Date.now();
    const [slow] = await syncOnce(bus, a, 'manual');
    const withHook = Date.now() - t0;
    expect(slow?.result).toBe('ok');
    console.log(`sync with no hook ${base!.ms} ms, with a hanging hook ${withHook} ms`);
    expect(withHook).toBeLessThan(base!.ms * 3 + 1500);
    await waitFor(() => hung.hits.length >= 1, { what: 'the first delivery to reach the hanging receiver' });
  });

  it('a receiver that hangs costs a timeout per try, and the tries are recorded', async () => {
    const hung = await receiver(() => 'hang');
    const { bus, a, hooks, logs } = await setup([{ url: hung.url, events: ['sync.finished'], secret: SECRET }], { timeoutMs: 250, maxTries: 2 });
    writeFileSync(join(a.repo, 'one.txt'), '1\n');
    await syncOnce(bus, a, 'manual');
    await hooks.idle();
    const recs = deliveries(a).hooks[0]!.deliveries;
    expect(recs).toEqual([expect.objectContaining({ outcome: 'failed', status: null, error: 'no answer within 0.25 s', tries: 2 })]);
    expect(recs[0]!.duration_ms).toBeGreaterThanOrEqual(2 * 250 + 20 - 5);
    expect(hung.hits).toHaveLength(2);
    expect(logs.some((l) => l.includes('webhook delivery failed') && !l.includes(SECRET))).toBe(true);
  });

  it('never follows a redirect; a 4xx other than 408/429 is final; 429 is tried again', async () => {
    const target = await receiver();
    const redirecting = await receiver((_n, res) => {
      res.setHeader('location', target.url);
      return 302;
    });
    const gone = await receiver(() => 404);
    const busy = await receiver((n) => (n === 1 ? 429 : 204));
    const { bus, a, hooks } = await setup(
      [
        { url: redirecting.url, events: ['sync.finished'], secret: SECRET },
        { url: gone.url, events: ['sync.finished'], secret: SECRET },
        { url: busy.url, events: ['sync.finished'], secret: SECRET },
      ],
      { maxTries: 3 },
    );
    writeFileSync(join(a.repo, 'one.txt'), '1\n');
    await syncOnce(bus, a, 'manual');
    await hooks.idle();
    expect(redirecting.hits).toHaveLength(3);
    expect(target.hits).toHaveLength(0);
    expect(gone.hits).toHaveLength(1);
    expect(busy.hits).toHaveLength(2);
    const byUrl = new Map(deliveries(a).hooks.map((h) => [h.url, h.deliveries[0]]));
    expect(byUrl.get(redirecting.url)).toMatchObject({ outcome: 'failed', status: 302, error: 'HTTP 302', tries: 3 });
    expect(byUrl.get(gone.url)).toMatchObject({ outcome: 'failed', status: 404, tries: 1 });
    expect(byUrl.get(busy.url)).toMatchObject({ outcome: 'delivered', status: 204, tries: 2 });
  });

  it('bounds the waiting deliveries of a hook: the oldest waiting one is dropped and recorded', async () => {
    const hung = await receiver(() => 'hang');
    const { bus, a, hooks } = await setup([{ url: hung.url, events: ['conflict'], secret: SECRET }], { timeoutMs: 200, maxTries: 1, maxPending: 2 });
    for (let i = 0; i < 5; i++) bus.emit('conflict', 'wa', { op: 'x', path: `f${i}.txt`, policy: 'conflict-copy' });
    await hooks.idle();
    const recs = deliveries(a).hooks[0]!.deliveries;
    expect(recs.filter((d) => d.outcome === 'dropped')).toHaveLength(2);
    expect(recs.filter((d) => d.outcome === 'failed')).toHaveLength(3);
    expect(hung.hits.map((h) => JSON.parse(h.body.toString('utf8')).data.path)).toEqual(['f0.txt', 'f3.txt', 'f4.txt']);
  });
});

describe('webhooks config', () => {
  it('accepts exactly the event types of the bus', () => {
    expect([...WEBHOOK_EVENT_TYPES]).toEqual([...EVENT_TYPES]);
    expect(EVENT_TYPES).toContain('probe');
  });

  it('refuses a bad hook with exit 2 naming the field, and never prints the secret', async () => {
    const sb = makeSandbox('sc-webhooks-config-');
    cleanups.push(() => sb.cleanup());
    const repo = sb.clone('a');
    expect((await runCli(['init'], { cwd: repo, env: sb.env })).code).toBe(0);
    const good = { url: 'https://hooks.example/x', events: ['sync.finished'], secret: SECRET };
    const cases: [unknown, RegExp][] = [
      [{ ...good, url: 'ftp://hooks.example/x' }, /"webhooks\.0\.url": an http:\/\/ or https:\/\/ URL/],
      [{ ...good, url: 'not a url' }, /"webhooks\.0\.url"/],
      [{ ...good, events: ['sync.done'] }, /"webhooks\.0\.events\.0"/],
      [{ ...good, events: [] }, /"webhooks\.0\.events": a non-empty list/],
      [{ ...good, secret: SECRET.slice(0, 15) }, /"webhooks\.0\.secret": a string of at least 16 characters/],
      [{ ...good, extra: SECRET }, /unknown key "webhooks\.0\.extra"/],
      [{ url: good.url, events: good.events }, /"webhooks\.0\.secret"/],
    ];
    for (const [hook, message] of cases) {
      writeFileSync(join(repo, STATE, 'config.json'), JSON.stringify({ webhooks: [hook] }));
      for (const args of [['status'], ['status', '--json'], ['request-sync', 'smart', 'test']]) {
        const r = await runCli(args, { cwd: repo, env: sb.env });
        expect(r.code, `${JSON.stringify(hook)} ${args.join(' ')}`).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stdout + r.stderr).not.toContain(SECRET.slice(0, 15));
      }
      const doctor = await runCli(['doctor'], { cwd: repo, env: sb.env });
      expect(doctor.stdout).toMatch(message);
      expect(doctor.stdout + doctor.stderr).not.toContain(SECRET.slice(0, 15));
    }
    // Broken JSON next to a secret: node quotes the text around the error; not here.
    writeFileSync(join(repo, STATE, 'config.json'), `{"webhooks": [{"url": "https://h.example", "events": ["*"], "secret": ${SECRET}}]}`);
    const r = await runCli(['status'], { cwd: repo, env: sb.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not valid JSON/);
    expect(r.stderr).not.toContain(SECRET.slice(0, 8));
    // A valid hook: status works and shows it, without its secret.
    writeFileSync(join(repo, STATE, 'config.json'), JSON.stringify({ webhooks: [good] }));
    const ok = await runCli(['status', '--json'], { cwd: repo, env: sb.env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).webhooks.hooks).toEqual([expect.objectContaining({ url: 'https://hooks.example/x', configured: true, deliveries: [] })]);
    expect(ok.stdout).not.toContain(SECRET);
  });
});

describe('webhook-deliveries.json', () => {
  it('keeps the newest 100 deliveries per hook, and shows a URL without credentials or query', async () => {
    const { dir, cleanup } = makeTempDir('sc-deliveries-');
    cleanups.push(cleanup);
    const hook = { url: 'https://user:pw@hooks.example:8443/p?token=t', events: ['conflict'] };
    const other = { url: 'http://other.example/', events: ['*'] };
    for (let i = 1; i <= 105; i++)
      await appendDelivery(dir, hook, {
        id: `d${i}`,
        event: 'conflict',
        event_id: i,
        time: new Date(i).toISOString(),
        outcome: 'delivered',
        status: 200,
        error: null,
        tries: 1,
        duration_ms: 1,
      });
    await appendDelivery(dir, other, {
      id: 'o1',
      event: 'conflict',
      event_id: 1,
      time: new Date(0).toISOString(),
      outcome: 'failed',
      status: 500,
      error: 'HTTP 500',
      tries: 5,
      duration_ms: 9,
    });
    const view = await webhooksView(dir, [other]);
    expect(view.hooks.map((h) => [h.url, h.configured, h.deliveries.length, h.delivered, h.failed])).toEqual([
      ['http://other.example/', true, 1, 0, 1],
      ['https://hooks.example:8443/p?…', false, 100, 100, 0],
    ]);
    const kept = view.hooks[1]!.deliveries.map((d) => d.id);
    expect(kept[0]).toBe('d105');
    expect(kept.at(-1)).toBe('d6');
    expect(readFileSync(join(dir, 'webhook-deliveries.json'), 'utf8')).not.toMatch(/pw|token/);
  });
});
