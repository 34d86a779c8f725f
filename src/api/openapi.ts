/**
 * The OpenAPI 3.1 description of every route, served at `GET /api/v1/openapi.json`. The
 * API tests validate real answers of a real daemon against these schemas, so the
 * document cannot drift from the code without a test failing.
 */
import { EVENT_TYPES } from '../shared/events.js';
import { send } from './http.js';
import type { Route } from './router.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;
const nullable = (s: object) => ({ anyOf: [s, { type: 'null' }] });
const obj = (properties: Record<string, unknown>, required = Object.keys(properties), extra = true) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: extra,
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const err = (description: string) => json(ref('Error'), description);
const idParam = { name: 'id', in: 'path', required: true, description: 'The workspace id (12 hex digits, see GET /workspaces)', schema: str };
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), err(ERROR_TEXT[c] ?? 'error')]));
const ERROR_TEXT: Record<number, string> = {
  400: 'Bad input; `field` names it',
  401: 'Missing or wrong token (TCP listener only)',
  403: 'A non-GET from a foreign Origin (TCP listener only)',
  404: 'Unknown workspace or route',
  405: 'Wrong method',
  409: 'The lock stayed busy, or a conflict holds the pause',
  413: 'Body over 64 KiB',
  421: 'Host is not 127.0.0.1:<port> or localhost:<port> (TCP listener only)',
  503: 'Registered but not served now',
};
const common = [401, 403, 404, 405, 421];

const pause = obj({ reason: str, since: str, paths: { type: 'array', items: str }, op: nullable(str) });
const conflictRecord = obj({ time: str, op: str, path: str, policy: str, outcome: str, copy_path: nullable(str), kind: str, device: str });
const outcome = obj(
  {
    id: str,
    type: str,
    priority: str,
    status: { enum: ['queued', 'processed', 'merged', 'deferred', 'rejected'] },
    result: nullable({ enum: ['ok', 'noop', 'failed', 'conflict'] }),
    op: nullable(str),
    message: str,
    exit_code: int,
    finished_at: str,
    resets_at: nullable(str),
  },
  ['id', 'type', 'priority', 'status', 'result', 'message', 'exit_code'],
);

const schemas = {
  Error: obj({ error: str, field: str, exit_code: int }, ['error', 'exit_code'], false),
  WorkspaceView: obj({ id: str, path: str, status: { enum: ['starting', 'running', 'failed', 'stopped'] }, error: nullable(str), since: str }),
  ApiListener: obj({ enabled: bool, listening: bool, url: nullable(str), port: nullable(int), error: nullable(str) }),
  Status: obj(
    {
      lock: obj({ held: bool, stale: bool, owner: nullable(obj({ caller: str, pid: int, host: str, since: str, op: nullable(str) }, ['caller', 'pid'])) }),
      queue: obj({ pending: int, deferred: int, by_priority: obj({ critical: int, high: int, normal: int, low: int }) }),
      rate_limit: obj({ enabled: bool, limit: int, burst: int, used: int, resets_at: nullable(str) }),
      active: nullable(obj({ op: str, type: str, step: str, started_at: str }, ['op', 'type', 'step', 'started_at'])),
      stats: obj(
        {
          requests: int,
          merged: int,
          syncs_ok: int,
          syncs_failed: int,
          rejected: int,
          deferred: int,
          last_success_at: nullable(str),
          last_error: nullable(str),
        },
        ['requests', 'merged', 'syncs_ok', 'syncs_failed', 'rejected', 'deferred', 'last_success_at', 'last_error'],
      ),
      breaker: obj({ state: { enum: ['closed', 'open', 'half-open'] }, failures: int, open_until: nullable(str) }),
      daemon: obj({ running: bool, pid: nullable(int) }),
      conflicts: obj({ open: int }),
      paused: nullable(pause),
      workspace: str,
    },
    ['lock', 'queue', 'rate_limit', 'active', 'stats', 'breaker', 'daemon', 'conflicts', 'paused'],
  ),
  SyncRequest: obj(
    {
      type: { enum: ['intelligent-auto', 'smart', 'robust', 'manual', 'post-merge'] },
      priority: nullable({ enum: ['critical', 'high', 'normal', 'low'] }),
      caller: str,
      reason: nullable(str),
    },
    ['type'],
  ),
  SyncOutcome: outcome,
  Conflicts: obj({
    open: { type: 'array', items: conflictRecord },
    copies: { type: 'array', items: obj({ path: str, original: str, device: str, made_at: str, op: nullable(str) }) },
    count: int,
  }),
  ResolveRequest: obj({ path: str }, ['path'], false),
  ResolveResult: obj({ resolved: str, resumed: bool, removed: { type: 'array', items: str } }, ['resolved', 'resumed']),
  HistoryRecord: obj({
    op: str,
    type: str,
    priority: str,
    callers: { type: 'array', items: str },
    requests: int,
    result: { enum: ['ok', 'noop', 'failed', 'conflict', 'refused'] },
    message: str,
    started_at: str,
    finished_at: str,
    duration_ms: int,
    steps: { type: 'array', items: obj({ step: str, started_at: str, duration_ms: int }) },
    head_before: nullable(str),
    head_after: nullable(str),
    files_changed: { type: 'array', items: str },
    files_changed_count: int,
  }),
  PauseResult: obj({ id: str, paused: nullable(pause), changed: bool }),
  Event: obj({ id: int, type: { enum: [...EVENT_TYPES] }, time: str, workspace: nullable(str), data: { type: 'object' } }),
};

const ws = (path: string) => `/api/v1/workspaces/{id}${path}`;

export const openapiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'sync-coordinator local API',
    version: '1',
    description:
      'Served by the user daemon on 127.0.0.1:<api.port> (token: Authorization: Bearer <api-token>) and on its control socket (no token). Errors are {error, field?, exit_code}.',
  },
  servers: [{ url: 'http://127.0.0.1:7341' }],
  security: [{ bearer: [] }],
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas },
  paths: {
    '/api/v1/workspaces': {
      get: {
        summary: 'Every registered workspace and the TCP listener state',
        responses: {
          '200': json(obj({ workspaces: { type: 'array', items: ref('WorkspaceView') }, api: ref('ApiListener') }), 'The workspaces'),
          ...errors(...common),
        },
      },
    },
    [ws('')]: {
      get: { summary: 'One workspace', parameters: [idParam], responses: { '200': json(ref('WorkspaceView'), 'The workspace'), ...errors(...common) } },
    },
    [ws('/status')]: {
      get: { summary: 'As `status --json`', parameters: [idParam], responses: { '200': json(ref('Status'), 'The status'), ...errors(...common, 400, 503) } },
    },
    [ws('/sync')]: {
      post: {
        summary: 'Queue a sync request (as request-sync); ?wait=1 answers with its outcome, ?wait=1&stream=1 streams NDJSON steps',
        parameters: [
          idParam,
          { name: 'wait', in: 'query', schema: { enum: ['1'] } },
          { name: 'stream', in: 'query', schema: { enum: ['1'] } },
          { name: 'timeout', in: 'query', description: 'seconds to wait (with wait=1)', schema: str },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: ref('SyncRequest') } } },
        responses: {
          '200': {
            description: 'The outcome (wait=1) or a rejection by the rate limit (exit_code 3)',
            content: { 'application/json': { schema: ref('SyncOutcome') }, 'application/x-ndjson': { schema: str } },
          },
          '202': json(ref('SyncOutcome'), 'Queued'),
          ...errors(...common, 400, 413, 503),
        },
      },
    },
    [ws('/conflicts')]: {
      get: {
        summary: 'As `conflicts --json`; all=1 adds every conflict recorded',
        parameters: [idParam, { name: 'all', in: 'query', schema: { enum: ['1'] } }],
        responses: { '200': json(ref('Conflicts'), 'Open conflicts'), ...errors(...common, 503) },
      },
    },
    [ws('/conflicts/resolve')]: {
      post: {
        summary: 'As `conflicts --resolve <path> --json`',
        parameters: [idParam],
        requestBody: { required: true, content: { 'application/json': { schema: ref('ResolveRequest') } } },
        responses: { '200': json(ref('ResolveResult'), 'Resolved'), ...errors(...common, 400, 409, 413, 503) },
      },
    },
    [ws('/conflicts/diff')]: {
      get: {
        summary:
          'As `conflicts show <path> --json`: what each side of the open conflict at <path> changed against their common base (the dashboard shows it side by side)',
        parameters: [idParam, { name: 'path', in: 'query', required: true, description: 'A file or conflict copy as GET .../conflicts shows it', schema: str }],
        responses: {
          '200': json(
            obj({ path: str, source: { enum: ['conflict-copy', 'auto-merge'] }, local: { type: 'object' }, remote: { type: 'object' } }),
            'The two sides',
          ),
          ...errors(...common, 400, 503),
        },
      },
    },
    [ws('/log')]: {
      get: {
        summary: "The last lines of the workspace's daemon and coordinator logs, merged by time (as `daemon logs`)",
        parameters: [idParam, { name: 'lines', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } }],
        responses: {
          '200': json(
            obj({ lines: { type: 'array', items: obj({ time: nullable(str), source: { enum: ['daemon', 'coordinator'] }, text: str }) } }),
            'Log lines, oldest first',
          ),
          ...errors(...common, 400, 503),
        },
      },
    },
    [ws('/history')]: {
      get: {
        summary: 'The last syncs, newest first',
        parameters: [idParam, { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } }],
        responses: { '200': json(obj({ history: { type: 'array', items: ref('HistoryRecord') } }), 'History'), ...errors(...common, 400, 503) },
      },
    },
    [ws('/pause')]: {
      post: {
        summary: 'Pause automatic syncs until resumed',
        parameters: [idParam],
        responses: { '200': json(ref('PauseResult'), 'Paused'), ...errors(...common, 400, 409, 413, 503) },
      },
    },
    [ws('/resume')]: {
      post: {
        summary: 'Resume automatic syncs paused by the user',
        parameters: [idParam],
        responses: { '200': json(ref('PauseResult'), 'Resumed'), ...errors(...common, 400, 409, 413, 503) },
      },
    },
    '/api/v1/events': {
      get: {
        summary: 'Server-Sent Events: id, event (the type), data (an Event as JSON); Last-Event-ID resumes; `event: reset` when the gap is too old',
        parameters: [
          { name: 'workspace', in: 'query', schema: str },
          { name: 'Last-Event-ID', in: 'header', schema: str },
        ],
        responses: { '200': { description: 'The stream', content: { 'text/event-stream': { schema: ref('Event') } } }, ...errors(...common, 400) },
      },
    },
    [ws('/webhooks')]: {
      get: {
        summary: 'The configured webhooks (secrets redacted) and the last 100 deliveries of each',
        parameters: [idParam],
        responses: { '200': json(obj({ workspace: str }), 'Hooks and deliveries'), ...errors(...common, 503) },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus text exposition: syncs, requests, conflicts, retries, probes, durations, queue, rate limit, breaker, process',
        responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: str } } }, ...errors(401, 421) },
      },
    },
    '/api/v1/openapi.json': { get: { summary: 'This document', responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1'), ...errors(401, 421) } } },
  },
};

export const openapiRoutes: Route[] = [{ method: 'GET', path: '/api/v1/openapi.json', handler: (c) => send(c.res, 200, openapiDocument) }];
