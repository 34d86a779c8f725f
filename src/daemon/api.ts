/**
 * The routes of the local API (DESIGN.md sections 11 and 12) as plain handlers over
 * node:http, with no listener of their own: the user daemon mounts them on its Unix
 * socket, and the TCP API of section 12 can mount the same function behind its token,
 * Host and Origin checks.
 *
 *   GET  /api/v1/workspaces
 *   GET  /api/v1/workspaces/{id}
 *   GET  /api/v1/workspaces/{id}/status     the same JSON as `status --json`
 *   POST /api/v1/workspaces/{id}/sync       {type, priority?, reason?, caller?}
 *        ?wait=1   answer with the outcome once the request is served
 *        ?stream=1 (with wait) NDJSON: {"event":"step",...} lines, then {"event":"result",...}
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig, type Config } from '../core/config.js';
import { CoordinatorError, ExitCode } from '../core/errors.js';
import { enqueue, newRequestId } from '../core/queue.js';
import { decide, rateLimitMessage } from '../core/rate-limit.js';
import { DEFAULT_PRIORITY, parsePriority, parseText, parseType, type SyncRequest } from '../core/request.js';
import type { RequestOutcome } from '../core/results.js';
import { readState } from '../core/state.js';
import { buildStatus } from '../core/status-view.js';
import type { Workspace } from '../core/workspace.js';
import { appendLogLine } from '../log.js';

export interface WorkspaceView {
  id: string;
  path: string;
  status: 'starting' | 'running' | 'failed' | 'stopped';
  error: string | null;
  since: string;
}

export interface ServedWorkspace {
  view(): WorkspaceView;
  /** Workspace and config while it is served; null otherwise. */
  live(): { ws: Workspace; config: Config } | null;
  /** Wake the workspace's loop (a request was just written). */
  poke(): void;
  /** Resolves with the request's outcome; `onStep` sees the steps of the syncs meanwhile. */
  wait(id: string, onStep: (step: string, op: string) => void, signal: AbortSignal): Promise<RequestOutcome>;
}

export interface ApiDeps {
  workspaces(): ServedWorkspace[];
  byId(id: string): ServedWorkspace | undefined;
}

const MAX_BODY = 64 * 1024;
const WAIT_LIMIT_MS = 3_600_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly exitCode: number = ExitCode.usage,
  ) {
    super(message);
  }
}

export function createApiHandler(deps: ApiDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void route(deps, req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof CoordinatorError && e.exitCode === ExitCode.usage ? 400 : 500;
      const exitCode = e instanceof HttpError ? e.exitCode : e instanceof CoordinatorError ? e.exitCode : ExitCode.syncFailed;
      if (res.headersSent) {
        res.end(JSON.stringify({ event: 'error', error: errText(e), exit_code: exitCode }) + '\n');
        return;
      }
      send(res, status, { error: errText(e), exit_code: exitCode });
    });
  };
}

async function route(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'api' || parts[1] !== 'v1' || parts[2] !== 'workspaces') throw new HttpError(404, `no route ${url.pathname}`);
  const method = req.method ?? 'GET';
  if (parts.length === 3) {
    allow(method, 'GET');
    return send(res, 200, { workspaces: deps.workspaces().map((w) => w.view()) });
  }
  const served = deps.byId(parts[3] ?? '');
  if (!served) throw new HttpError(404, `no workspace with id ${JSON.stringify(parts[3])} is registered`, ExitCode.notGitRepo);
  if (parts.length === 4) {
    allow(method, 'GET');
    return send(res, 200, served.view());
  }
  const live = served.live();
  // 503: registered but not served now; a client falls back to its own path.
  if (!live) throw new HttpError(503, `workspace ${served.view().path} is not served: ${served.view().error ?? served.view().status}`, ExitCode.syncFailed);
  // The config as it is on disk now, as a CLI process would read it: an invalid
  // config.json is exit 2 for every command (invariant 10), even while the running
  // loop keeps its previous one.
  const current = async () => ({ ws: live.ws, config: await loadConfig(live.ws.paths.config) });
  if (parts.length === 5 && parts[4] === 'status') {
    allow(method, 'GET');
    const { ws, config } = await current();
    return send(res, 200, await buildStatus(ws, config));
  }
  if (parts.length === 5 && parts[4] === 'sync') {
    allow(method, 'POST');
    return sync(served, await current(), url, req, res);
  }
  throw new HttpError(404, `no route ${url.pathname}`);
}

async function sync(served: ServedWorkspace, live: { ws: Workspace; config: Config }, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = (await readJson(req)) as { type?: unknown; priority?: unknown; reason?: unknown; caller?: unknown };
  const type = parseType(String(body.type ?? ''));
  const priority = body.priority === undefined || body.priority === null ? DEFAULT_PRIORITY[type] : parsePriority(String(body.priority));
  const caller = parseText('caller', body.caller === undefined ? 'api' : String(body.caller));
  const reason = parseText('reason', body.reason === undefined ? '' : String(body.reason));
  const { ws, config } = live;
  const now = Date.now();
  const request: SyncRequest = { id: newRequestId(now), type, caller, priority, reason, created_at: new Date(now).toISOString(), pid: process.pid };
  const head = { id: request.id, type, priority };

  // The same rate-limit decision as request-sync: normal (and high past the burst) is
  // rejected at once, and the spool file records it for the stats (invariant 6).
  const decision = decide(config, (await readState(ws.paths.state, null)).rate_limit, priority, now);
  if (!decision.allowed && decision.action === 'reject') {
    request.rejected_at = new Date(now).toISOString();
    await enqueue(ws.paths.queue, request);
    const message = rateLimitMessage(decision.used, decision.limit, decision.resetsAt);
    appendLogLine(ws.paths.coordinatorLog, 'warn', { id: request.id, type, priority, caller }, `request rejected: ${message}`);
    return send(res, 200, { ...head, status: 'rejected', result: null, message, resets_at: decision.resetsAt, exit_code: ExitCode.rateLimited });
  }
  await enqueue(ws.paths.queue, request);
  appendLogLine(ws.paths.coordinatorLog, 'info', { id: request.id, type, priority, caller, reason }, 'request queued');
  served.poke();
  if (url.searchParams.get('wait') !== '1')
    return send(res, 202, { ...head, status: 'queued', result: null, message: `queued for the daemon (pid ${process.pid})`, exit_code: 0 });

  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const raw = url.searchParams.get('timeout');
  const timeoutS = raw === null || raw === '' ? NaN : Number(raw);
  const limit = Number.isFinite(timeoutS) && timeoutS >= 0 ? Math.min(timeoutS * 1000, WAIT_LIMIT_MS) : WAIT_LIMIT_MS;
  const timer = setTimeout(() => gone.abort(new Error('timeout')), limit);
  const stream = url.searchParams.get('stream') === '1';
  if (stream) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.write(JSON.stringify({ event: 'queued', ...head }) + '\n');
  }
  try {
    const outcome = await served.wait(
      request.id,
      (step, op) => {
        if (stream) res.write(JSON.stringify({ event: 'step', step, op }) + '\n');
      },
      gone.signal,
    );
    const result = { ...head, ...outcome, id: request.id };
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

function allow(method: string, wanted: string): void {
  if (method !== wanted) throw new HttpError(405, `method ${method} not allowed here (use ${wanted})`);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch {
    throw new HttpError(400, 'the request body must be a JSON object');
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
