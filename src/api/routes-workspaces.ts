/**
 * The workspace routes (DESIGN.md sections 11 and 12), the same JSON as the CLI's `--json`:
 *
 *   GET  /api/v1/workspaces                 {workspaces: [view], api: listener state}
 *   GET  /api/v1/workspaces/{id}            the view
 *   GET  /api/v1/workspaces/{id}/status     the same JSON as `status --json`
 *   POST /api/v1/workspaces/{id}/sync       {type, priority?, reason?, caller?}
 *        ?wait=1   answer with the outcome once the request is served
 *        ?stream=1 (with wait) NDJSON: {"event":"step",...} lines, then {"event":"result",...}
 *
 * The sync route is what `sync-now` and `request-sync` use over the control socket: its
 * answers and its NDJSON stream are their contract.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig, type Config } from '../shared/config.js';
import { ExitCode } from '../shared/errors.js';
import { enqueue, newRequestId } from '../core/queue.js';
import { decide, rateLimitMessage } from '../core/rate-limit.js';
import { DEFAULT_PRIORITY, parsePriority, parseText, parseType, type SyncRequest } from '../core/request.js';
import { readState } from '../shared/state.js';
import { buildStatus } from '../core/status-view.js';
import type { Workspace } from '../git/workspace.js';
import { appendLogLine } from '../shared/log.js';
import { badField, HttpError, readJson, send, sendJsonText } from './http.js';
import type { Route, RouteContext } from './router.js';
import { createStatusCache } from './status-cache.js';
import type { ServedWorkspace } from './types.js';

const WAIT_LIMIT_MS = 3_600_000;
const statusOf = createStatusCache();

export function servedOf(c: RouteContext): ServedWorkspace {
  const served = c.deps.byId(c.params.id ?? '');
  if (!served) throw new HttpError(404, `no workspace with id ${JSON.stringify(c.params.id)} is registered`, ExitCode.notGitRepo, 'id');
  return served;
}

/**
 * The workspace with its config as it is on disk now, as a CLI process would read it: an
 * invalid config.json is exit 2 for every command (invariant 10), even while the running
 * loop keeps its previous one. 503: registered but not served now (a client falls back).
 */
export async function liveOf(c: RouteContext): Promise<{ served: ServedWorkspace; ws: Workspace; config: Config }> {
  const served = servedOf(c);
  const live = served.live();
  if (!live) throw new HttpError(503, `workspace ${served.view().path} is not served: ${served.view().error ?? served.view().status}`, ExitCode.syncFailed);
  return { served, ws: live.ws, config: await loadConfig(live.ws.paths.config) };
}

export const workspaceRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/v1/workspaces',
    handler: (c) => send(c.res, 200, { workspaces: c.deps.workspaces().map((w) => w.view()), api: c.deps.listener() }),
  },
  { method: 'GET', path: '/api/v1/workspaces/{id}', handler: (c) => send(c.res, 200, servedOf(c).view()) },
  {
    method: 'GET',
    path: '/api/v1/workspaces/{id}/status',
    handler: async (c) => {
      const served = servedOf(c);
      const ws = served.live()?.ws;
      if (!ws) return void (await liveOf(c)); // 503: registered, not served
      const build = async () => {
        const live = await liveOf(c);
        return buildStatus(live.ws, live.config);
      };
      sendJsonText(c.res, 200, await statusOf(served.view().id, ws, build));
    },
  },
  { method: 'POST', path: '/api/v1/workspaces/{id}/sync', handler: sync },
];

function parseSyncBody(body: Record<string, unknown>): Pick<SyncRequest, 'type' | 'priority' | 'caller' | 'reason'> {
  const field = <T>(name: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw badField(name, e);
    }
  };
  const type = field('type', () => parseType(typeof body.type === 'string' ? body.type : String(body.type ?? '')));
  const priority = field('priority', () =>
    body.priority === undefined || body.priority === null
      ? DEFAULT_PRIORITY[type]
      : parsePriority(typeof body.priority === 'string' ? body.priority : String(body.priority)),
  );
  const caller = field('caller', () => parseText('caller', body.caller === undefined ? 'api' : String(body.caller)));
  const reason = field('reason', () => parseText('reason', body.reason === undefined || body.reason === null ? '' : String(body.reason)));
  return { type, priority, caller, reason };
}

async function sync(c: RouteContext): Promise<void> {
  const { req, res, url } = c;
  // Validate before anything is read from disk: bad input changes nothing.
  const body = await readJson(req);
  servedOf(c);
  const parsed = parseSyncBody(body);
  const { served, ws, config } = await liveOf(c);
  const { type, priority, caller, reason } = parsed;
  const now = Date.now();
  const request: SyncRequest = { id: newRequestId(now), type, caller, priority, reason, created_at: new Date(now).toISOString(), pid: process.pid };
  const head = { id: request.id, type, priority };
  const wsId = served.view().id;

  // The same rate-limit decision as request-sync: normal (and high past the burst) is
  // rejected at once, and the spool file records it for the stats (invariant 6).
  const decision = decide(config, (await readState(ws.paths.state, null)).rate_limit, priority, now);
  if (!decision.allowed && decision.action === 'reject') {
    request.rejected_at = new Date(now).toISOString();
    await enqueue(ws.paths.queue, request);
    const message = rateLimitMessage(decision.used, decision.limit, decision.resetsAt);
    appendLogLine(ws.paths.coordinatorLog, 'warn', { id: request.id, type, priority, caller }, `request rejected: ${message}`);
    // Its `ratelimit.hit` event comes from the unit's report, as for a CLI's rejection.
    served.poke();
    return send(res, 200, { ...head, status: 'rejected', result: null, message, resets_at: decision.resetsAt, exit_code: ExitCode.rateLimited });
  }
  await enqueue(ws.paths.queue, request);
  appendLogLine(ws.paths.coordinatorLog, 'info', { id: request.id, type, priority, caller, reason }, 'request queued');
  c.deps.bus.emit('request.queued', wsId, { request_id: request.id, type, priority, caller, reason });
  served.poke();
  if (url.searchParams.get('wait') !== '1')
    return send(res, 202, { ...head, status: 'queued', result: null, message: `queued for the daemon (pid ${process.pid})`, exit_code: 0 });
  await waitForOutcome(served, request.id, head, url, res);
}

async function waitForOutcome(
  served: ServedWorkspace,
  id: string,
  head: { id: string; type: string; priority: string },
  url: URL,
  res: ServerResponse<IncomingMessage>,
): Promise<void> {
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const raw = url.searchParams.get('timeout');
  const timeoutS = raw === null || raw === '' ? Number.NaN : Number(raw);
  const limit = Number.isFinite(timeoutS) && timeoutS >= 0 ? Math.min(timeoutS * 1000, WAIT_LIMIT_MS) : WAIT_LIMIT_MS;
  const timer = setTimeout(() => gone.abort(new Error('timeout')), limit);
  const stream = url.searchParams.get('stream') === '1';
  if (stream) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.write(JSON.stringify({ event: 'queued', ...head }) + '\n');
  }
  try {
    const outcome = await served.wait(
      id,
      (step, op) => {
        if (stream) res.write(JSON.stringify({ event: 'step', step, op }) + '\n');
      },
      gone.signal,
    );
    const result = { ...head, ...outcome, id };
    if (stream) res.end(JSON.stringify({ event: 'result', ...result }) + '\n');
    else send(res, 200, result);
  } catch {
    // Still queued: the caller asked for a bounded wait (exit 4, as request-sync --wait).
    const still = { ...head, status: 'queued', result: null, message: 'still queued (another sync holds the lock)', exit_code: ExitCode.lockBusy };
    if (res.writableEnded || res.destroyed) return;
    if (stream) res.end(JSON.stringify({ event: 'result', ...still }) + '\n');
    else send(res, 200, still);
  } finally {
    clearTimeout(timer);
  }
}
