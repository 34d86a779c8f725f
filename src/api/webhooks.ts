/**
 * Signed webhooks (DESIGN.md section 12): bus events POSTed to the hooks of a workspace's
 * config.json and of the global config.json (both apply), each as
 * `{id, type, time, workspace, data}` signed with the hook's secret.
 *
 * The bus listener only appends to an in-memory inbox, so a slow or dead receiver never
 * delays the sync that emitted the event. Each hook has its own queue, delivered in
 * order one at a time (a dead hook never holds up another), bounded: past `maxPending`
 * the oldest waiting delivery is dropped and recorded as dropped. Every finished
 * delivery goes to the workspace's webhook-deliveries.json (last 100 per hook), which
 * `status` and `GET /api/v1/workspaces/{id}/webhooks` read.
 *
 * Secrets stay in memory: they are never logged, recorded or answered.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig, type Config, type WebhookConfig } from '../shared/config.js';
import { ExitCode } from '../shared/errors.js';
import { packageVersion } from '../shared/package-root.js';
import { redactUrls } from '../shared/redact.js';
import { appendDelivery, displayUrl, hookId, webhooksView, type DeliveryRecord } from '../core/webhook-deliveries.js';
import type { Workspace } from '../git/workspace.js';
import type { BusEvent, EventBus } from '../shared/events.js';
import type { Logger } from '../shared/log.js';
import { postOnce, signBody, verdict, type TryResult } from './webhook-post.js';

/** The part of the daemon's served workspaces that webhooks need (the API's ServedWorkspace fits). */
export interface WebhookWorkspaces {
  byId(id: string): { live(): { ws: Workspace; config: Config } | null } | undefined;
}

export interface WebhooksOptions {
  bus: EventBus;
  workspaces: WebhookWorkspaces;
  /** The user's global config.json; its hooks apply to every workspace. Read at each event. */
  globalConfigFile?: string;
  log?: Logger;
  /** The wait before try n+1 is retryBaseMs * 2^(n-1): 1, 2, 4 and 8 s by default. */
  retryBaseMs?: number;
  timeoutMs?: number;
  maxTries?: number;
  /** Deliveries waiting per hook; past it the oldest waiting one is dropped and recorded. */
  maxPending?: number;
}

export interface Webhooks {
  /** `GET /api/v1/workspaces/{id}/webhooks`: the id from the argument, or else from the URL. */
  deliveriesHandler(req: IncomingMessage, res: ServerResponse, workspaceId?: string): void;
  /** Resolves once no event waits and no delivery runs or waits to be recorded. */
  idle(): Promise<void>;
  /** Stop listening; tries in flight end at once (not recorded). */
  close(): Promise<void>;
}

interface Item {
  hook: WebhookConfig;
  event: BusEvent;
  stateDir: string | null;
  deliveryId: string;
}

interface HookQueue {
  pending: Item[];
  running: boolean;
}

/** Events read from the bus but not yet matched to hooks; a bound so memory stays bounded even if config reads stall. */
const INBOX_MAX = 10_000;

export function createWebhooks(o: WebhooksOptions): Webhooks {
  const retryBaseMs = o.retryBaseMs ?? 1000;
  const timeoutMs = o.timeoutMs ?? 5000;
  const maxTries = o.maxTries ?? 5;
  const maxPending = o.maxPending ?? 200;
  const userAgent = `sync-coordinator/${packageVersion()}`;
  const stop = new AbortController();
  const inbox: BusEvent[] = [];
  const queues = new Map<string, HookQueue>();
  const writes = new Map<string, Promise<void>>();
  let pumping = false;
  let globalHooks: WebhookConfig[] = [];
  let globalError: string | null = null;

  const unsubscribe = o.bus.subscribe((event) => {
    if (stop.signal.aborted) return;
    inbox.push(event);
    if (inbox.length > INBOX_MAX) {
      const lost = inbox.shift();
      o.log?.warn({ event_id: lost?.id, type: lost?.type }, 'webhooks: too many events waiting; the oldest is not delivered');
    }
    void pump();
  });

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (let event = inbox.shift(); event && !stop.signal.aborted; event = inbox.shift()) {
        try {
          const { hooks, stateDir } = await targetsFor(event);
          for (const hook of hooks) if (wants(hook, event.type)) enqueue({ hook, event, stateDir, deliveryId: randomUUID() });
        } catch (e) {
          o.log?.error({ err: errText(e), event_id: event.id }, 'webhooks: cannot match an event to its hooks');
        }
      }
    } finally {
      pumping = false;
    }
  }

  async function readGlobalHooks(): Promise<WebhookConfig[]> {
    if (!o.globalConfigFile) return [];
    try {
      globalHooks = (await loadConfig(o.globalConfigFile)).webhooks;
      globalError = null;
    } catch (e) {
      // Config errors carry no secret (config.ts); keep the hooks that last loaded.
      if (globalError !== errText(e)) o.log?.error({ err: errText(e) }, 'webhooks: the global config.json is invalid; keeping its previous hooks');
      globalError = errText(e);
    }
    return globalHooks;
  }

  async function workspaceHooks(id: string | null): Promise<{ hooks: WebhookConfig[]; stateDir: string | null }> {
    const live = id === null ? null : (o.workspaces.byId(id)?.live() ?? null);
    if (!live) return { hooks: [], stateDir: null };
    // The file as it is now (the running loop may still hold an older config); an
    // invalid one leaves the hooks the loop runs with.
    const config = await loadConfig(live.ws.paths.config).catch(() => live.config);
    return { hooks: config.webhooks, stateDir: live.ws.paths.dir };
  }

  async function targetsFor(event: BusEvent): Promise<{ hooks: WebhookConfig[]; stateDir: string | null }> {
    const [own, global] = await Promise.all([workspaceHooks(event.workspace), readGlobalHooks()]);
    // A hook listed in both configs is one hook: delivered once.
    const seen = new Set<string>();
    const hooks = [...own.hooks, ...global].filter((h) => {
      const key = `${hookId(h)}\0${h.secret}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { hooks, stateDir: own.stateDir };
  }

  function enqueue(item: Item): void {
    const key = hookId(item.hook);
    const q = queues.get(key) ?? { pending: [], running: false };
    queues.set(key, q);
    q.pending.push(item);
    if (q.pending.length > maxPending) {
      const dropped = q.pending.shift()!;
      const error = `dropped: more than ${maxPending} deliveries were waiting for this hook`;
      o.log?.warn({ hook: key, url: displayUrl(dropped.hook.url), event: dropped.event.type, event_id: dropped.event.id }, `webhook delivery ${error}`);
      record(dropped, { outcome: 'dropped', status: null, error, tries: 0, started: Date.now() });
    }
    if (!q.running) void run(q);
  }

  async function run(q: HookQueue): Promise<void> {
    q.running = true;
    try {
      for (let item = q.pending.shift(); item && !stop.signal.aborted; item = q.pending.shift()) await deliver(item);
    } finally {
      q.running = false;
    }
  }

  async function deliver(item: Item): Promise<void> {
    const { hook, event } = item;
    const body = Buffer.from(JSON.stringify({ id: event.id, type: event.type, time: event.time, workspace: event.workspace, data: redactStrings(event.data) }));
    const headers = {
      'content-type': 'application/json',
      'user-agent': userAgent,
      'x-sync-coordinator-event': event.type,
      'x-sync-coordinator-delivery': item.deliveryId,
      'x-sync-coordinator-signature-256': signBody(hook.secret, body),
    };
    const started = Date.now();
    let last: TryResult = { status: null, error: 'not tried' };
    let tries = 0;
    while (tries < maxTries && !stop.signal.aborted) {
      if (tries > 0 && !(await pause(retryBaseMs * 2 ** (tries - 1), stop.signal))) break;
      tries++;
      last = await postOnce(hook.url, body, headers, timeoutMs, stop.signal);
      const v = verdict(last);
      if (v === 'delivered') return record(item, { outcome: 'delivered', status: last.status, error: null, tries, started });
      if (v === 'final') break;
    }
    // Shutting down: the delivery neither succeeded nor failed; nothing to record.
    if (stop.signal.aborted) return;
    o.log?.warn(
      { hook: hookId(hook), url: displayUrl(hook.url), event: event.type, event_id: event.id, tries, status: last.status, err: last.error },
      'webhook delivery failed',
    );
    record(item, { outcome: 'failed', status: last.status, error: last.error, tries, started });
  }

  function record(item: Item, r: { outcome: DeliveryRecord['outcome']; status: number | null; error: string | null; tries: number; started: number }): void {
    const dir = item.stateDir;
    if (!dir) return;
    const entry: DeliveryRecord = {
      id: item.deliveryId,
      event: item.event.type,
      event_id: item.event.id,
      time: new Date(r.started).toISOString(),
      outcome: r.outcome,
      status: r.status,
      error: r.error === null ? null : redactUrls(r.error).slice(0, 300),
      tries: r.tries,
      duration_ms: Date.now() - r.started,
    };
    // One writer per file: each write reads what the previous one left.
    const next = (writes.get(dir) ?? Promise.resolve())
      .then(() => appendDelivery(dir, item.hook, entry))
      .catch((e: unknown) => o.log?.warn({ err: errText(e), dir }, 'webhooks: cannot record a delivery'));
    writes.set(dir, next);
  }

  function busy(): boolean {
    return pumping || inbox.length > 0 || [...queues.values()].some((q) => q.running || q.pending.length > 0);
  }

  return {
    deliveriesHandler(req, res, workspaceId) {
      void serveDeliveries(req, res, workspaceId).catch((e: unknown) => send(res, 500, { error: errText(e), exit_code: ExitCode.syncFailed }));
    },
    async idle() {
      while (busy()) await new Promise((r) => setTimeout(r, 10));
      await Promise.all(writes.values());
    },
    async close() {
      unsubscribe();
      stop.abort();
      inbox.length = 0;
      while ([...queues.values()].some((q) => q.running) || pumping) await new Promise((r) => setTimeout(r, 10));
      await Promise.all(writes.values());
    },
  };

  async function serveDeliveries(req: IncomingMessage, res: ServerResponse, workspaceId?: string): Promise<void> {
    if ((req.method ?? 'GET') !== 'GET') return send(res, 405, { error: `method ${req.method} not allowed here (use GET)`, exit_code: ExitCode.usage });
    const id = workspaceId ?? /^\/api\/v1\/workspaces\/([^/?]+)\/webhooks/.exec(req.url ?? '')?.[1] ?? '';
    const served = o.workspaces.byId(id);
    if (!served) return send(res, 404, { error: `no workspace with id ${JSON.stringify(id)} is registered`, exit_code: ExitCode.notGitRepo });
    const live = served.live();
    if (!live) return send(res, 503, { error: 'the workspace is not served now', exit_code: ExitCode.syncFailed });
    const { hooks } = await workspaceHooks(id);
    const configured = [...hooks, ...(await readGlobalHooks())];
    send(res, 200, { workspace: id, ...(await webhooksView(live.ws.paths.dir, configured)) });
  }
}

/**
 * "*" is every event but `probe`: a probe runs every few seconds while a workspace is
 * active, and a hook that wants them names them.
 */
function wants(hook: WebhookConfig, type: string): boolean {
  return hook.events.includes(type) || (type !== 'probe' && hook.events.includes('*'));
}

/** Event data can hold git's output and messages; a remote URL with a token in it stays here. */
function redactStrings(value: unknown): unknown {
  if (typeof value === 'string') return redactUrls(value);
  if (Array.isArray(value)) return value.map(redactStrings);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactStrings(v)]));
  return value;
}

function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
