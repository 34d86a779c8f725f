/**
 * Prometheus metrics for `GET /metrics` (DESIGN.md section 12), per workspace (label
 * `workspace` = the registry id), on a registry of their own (never prom-client's global).
 *
 * Counters and histograms follow the event bus, so they agree with the SSE stream and
 * the webhooks. Gauges are read at scrape time from the workspace's state files through
 * the same `buildStatus` as `status --json`, so a scrape shows what `status` would.
 *
 * Requests are counted when they leave the queue, not when they are written: the callers
 * of a sync's requests come with its `sync.finished` (`requests_by_caller`), a rejected request with its
 * `ratelimit.hit`. So requests that the CLI, a git hook or the watcher spooled count as
 * well as those of the API's sync route (the only writer of `request.queued`), and none
 * twice; a deferred request counts once, when it is served.
 *
 * Labels stay bounded: a workspace id, a sync type, a result, a remote name, a step; the
 * free-text caller of a request is folded to a short token and, past MAX_TRIGGERS per
 * workspace, to "other".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { loadConfig, type Config } from '../shared/config.js';
import { buildStatus } from '../core/status-view.js';
import type { Workspace } from '../git/workspace.js';
import type { BusEvent, EventBus } from '../shared/events.js';
import type { Logger } from '../shared/log.js';

/** The part of the daemon's served workspaces that metrics need (the API's ServedWorkspace fits). */
export interface MetricsWorkspaces {
  workspaces(): Array<{ view(): { id: string }; live(): { ws: Workspace; config: Config } | null }>;
}

export interface Metrics {
  registry: Registry;
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** The exposition text, with the gauges read now. */
  scrape(): Promise<string>;
  close(): void;
}

const P = 'sync_coordinator_';
const MAX_TRIGGERS = 20;
const SYNC_TYPES = new Set(['intelligent-auto', 'smart', 'robust', 'manual', 'post-merge']);
const RESULTS = new Set(['ok', 'noop', 'failed', 'conflict']);
const STEPS = new Set(['preflight', 'status', 'commit', 'move', 'fetch', 'push', 'verify']);
const BREAKER_VALUE: Record<string, number> = { closed: 0, 'half-open': 1, open: 2 };

export function createMetrics(o: { bus: EventBus; workspaces: MetricsWorkspaces; log?: Logger }): Metrics {
  const registry = new Registry();
  // prom-client samples event-loop delay with a native timer at this resolution; its 10 ms
  // default wakes an idle daemon 100 times a second (idle CPU 0.1 % -> 0.6 % for ten
  // work trees). One sample a second still shows a loop that stalls.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  const registers = [registry];
  const ws = ['workspace'] as const;

  const syncs = new Counter({
    name: `${P}syncs_total`,
    help: 'Syncs that ended, by sync type and result (ok, noop, failed, conflict).',
    labelNames: [...ws, 'type', 'result'],
    registers,
  });
  const requests = new Counter({
    name: `${P}requests_total`,
    help: 'Sync requests the daemon served or rejected, whoever wrote them (CLI, git hook, watcher, API), by trigger (the caller that asked).',
    labelNames: [...ws, 'trigger'],
    registers,
  });
  const conflicts = new Counter({
    name: `${P}conflicts_total`,
    help: 'Conflicts handled (copy, ours, auto-merge) or left for the user, by policy.',
    labelNames: [...ws, 'policy'],
    registers,
  });
  const retries = new Counter({
    name: `${P}retries_total`,
    help: 'In-run retries of transient failures (network, lock files) made by syncs, by step.',
    labelNames: [...ws, 'step'],
    registers,
  });
  const probes = new Counter({ name: `${P}probes_total`, help: 'Read-only probes of the remote tip (git ls-remote).', labelNames: ws, registers });
  const probesMoved = new Counter({ name: `${P}probes_moved_total`, help: 'Probes that saw the remote tip move.', labelNames: ws, registers });
  const rateLimited = new Counter({ name: `${P}rate_limit_hits_total`, help: 'Requests refused by the hourly rate limit.', labelNames: ws, registers });
  const duration = new Histogram({
    name: `${P}sync_duration_seconds`,
    help: 'Duration of a sync, from its first step to its result.',
    labelNames: [...ws, 'type'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers,
  });
  const propagation = new Histogram({
    name: `${P}propagation_seconds`,
    help: 'From a probe that saw the remote tip move to the end of the first sync started after it that integrated the remote (result ok or noop).',
    labelNames: ws,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
    registers,
  });

  const up = new Gauge({
    name: `${P}workspace_up`,
    help: '1 while the daemon serves the workspace, 0 while it is registered but not served.',
    labelNames: ws,
    registers,
  });
  const queueDepth = new Gauge({ name: `${P}queue_depth`, help: 'Requests waiting in the queue (refused ones not counted).', labelNames: ws, registers });
  const rlUsed = new Gauge({ name: `${P}rate_limit_used`, help: 'Syncs counted in the current rate-limit hour.', labelNames: ws, registers });
  const rlLimit = new Gauge({
    name: `${P}rate_limit_limit`,
    help: 'Syncs allowed per hour (max_syncs_per_hour; +Inf when rate limiting is off).',
    labelNames: ws,
    registers,
  });
  const breaker = new Gauge({
    name: `${P}breaker_state`,
    help: "The remote's circuit breaker: 0 closed, 1 half-open, 2 open.",
    labelNames: [...ws, 'remote'],
    registers,
  });
  const openConflicts = new Gauge({ name: `${P}conflicts_open`, help: 'Conflicts left for the user and not yet resolved.', labelNames: ws, registers });
  const watcherPending = new Gauge({
    name: `${P}watcher_pending_changes`,
    help: 'File changes the watcher saw that are not yet a request.',
    labelNames: ws,
    registers,
  });
  const lastSuccess = new Gauge({ name: `${P}last_success_timestamp_seconds`, help: 'Unix time of the last successful sync.', labelNames: ws, registers });
  const gauges = [up, queueDepth, rlUsed, rlLimit, breaker, openConflicts, watcherPending, lastSuccess];

  const triggers = new Map<string, Set<string>>();
  /** Per workspace: when a probe first saw a tip move that no sync has integrated yet. */
  const movedAt = new Map<string, number>();

  function trigger(workspace: string, caller: unknown): string {
    const t =
      String(caller ?? '')
        .toLowerCase()
        .replace(/[^a-z0-9_.-]+/g, '_')
        .slice(0, 40) || 'unknown';
    const seen = triggers.get(workspace) ?? new Set<string>();
    triggers.set(workspace, seen);
    if (seen.has(t)) return t;
    if (seen.size >= MAX_TRIGGERS) return 'other';
    seen.add(t);
    return t;
  }

  function countRequests(workspace: string, callers: unknown): void {
    if (!callers || typeof callers !== 'object') return;
    for (const [caller, n] of Object.entries(callers)) if (typeof n === 'number' && n > 0) requests.inc({ workspace, trigger: trigger(workspace, caller) }, n);
  }

  function countRetries(workspace: string, d: Record<string, unknown>): void {
    const bySteps = d.retries_by_step && typeof d.retries_by_step === 'object' ? Object.entries(d.retries_by_step) : [];
    for (const [s, n] of bySteps) if (typeof n === 'number' && n > 0) retries.inc({ workspace, step: STEPS.has(s) ? s : 'other' }, n);
    // An emitter that knows only the total.
    if (!bySteps.length && typeof d.retries === 'number' && d.retries > 0) retries.inc({ workspace, step: 'unknown' }, d.retries);
  }

  function onEvent(e: BusEvent): void {
    if (e.workspace === null) return;
    const workspace = e.workspace;
    const d = e.data;
    const at = Date.parse(e.time);
    switch (e.type) {
      case 'sync.finished': {
        const type = SYNC_TYPES.has(String(d.type)) ? String(d.type) : 'other';
        const result = RESULTS.has(String(d.result)) ? String(d.result) : 'other';
        syncs.inc({ workspace, type, result });
        const ms = Number(d.duration_ms);
        if (Number.isFinite(ms) && ms >= 0) duration.observe({ workspace, type }, ms / 1000);
        countRetries(workspace, d);
        countRequests(workspace, d.requests_by_caller);
        const seen = movedAt.get(workspace);
        const startedAt = at - (Number.isFinite(ms) ? ms : 0);
        // A sync that started before the probe may have fetched before the tip moved.
        if (seen !== undefined && (result === 'ok' || result === 'noop') && d.integrated !== false && startedAt >= seen) {
          propagation.observe({ workspace }, Math.max(0, at - seen) / 1000);
          movedAt.delete(workspace);
        }
        break;
      }
      case 'conflict':
        conflicts.inc({
          workspace,
          policy: String(d.policy ?? 'unknown')
            .replace(/[^a-z0-9_-]+/gi, '_')
            .slice(0, 20),
        });
        break;
      case 'ratelimit.hit':
        rateLimited.inc({ workspace });
        // A deferred request is still queued: it counts with the sync that serves it.
        if (d.status === 'rejected') countRequests(workspace, { [String(d.caller ?? '')]: 1 });
        break;
      case 'probe':
        probes.inc({ workspace });
        if (d.moved === true) {
          probesMoved.inc({ workspace });
          if (!movedAt.has(workspace)) movedAt.set(workspace, at);
        }
        break;
      default:
        break;
    }
  }
  const unsubscribe = o.bus.subscribe(onEvent);

  async function readGauges(): Promise<void> {
    const served = o.workspaces.workspaces();
    const views = await Promise.all(
      served.map(async (w) => {
        const id = w.view().id;
        const live = w.live();
        if (!live) return { id, status: null };
        try {
          const config = await loadConfig(live.ws.paths.config).catch(() => live.config);
          return { id, config, status: await buildStatus(live.ws, config) };
        } catch (e) {
          o.log?.warn({ id, err: e instanceof Error ? e.message : String(e) }, 'metrics: cannot read the status of a workspace');
          return { id, status: null };
        }
      }),
    );
    // Reset first: a workspace removed since the last scrape leaves no stale gauges.
    for (const g of gauges) g.reset();
    for (const v of views) {
      const workspace = v.id;
      up.set({ workspace }, v.status ? 1 : 0);
      if (!v.status || !v.config) continue;
      const s = v.status;
      queueDepth.set({ workspace }, s.queue.pending);
      rlUsed.set({ workspace }, s.rate_limit.used);
      rlLimit.set({ workspace }, s.rate_limit.enabled ? s.rate_limit.limit : Number.POSITIVE_INFINITY);
      breaker.set({ workspace, remote: v.config.remote }, BREAKER_VALUE[s.breaker.state] ?? 0);
      openConflicts.set({ workspace }, s.conflicts.open);
      if (s.watcher) watcherPending.set({ workspace }, s.watcher.pending);
      if (s.stats.last_success_at) lastSuccess.set({ workspace }, Math.floor(Date.parse(s.stats.last_success_at) / 1000));
    }
  }

  // Scrapes one at a time: two interleaved would reset each other's gauges.
  let last: Promise<unknown> = Promise.resolve();
  function scrape(): Promise<string> {
    const run = last.then(async () => {
      await readGauges();
      return registry.metrics();
    });
    last = run.catch(() => {});
    return run;
  }

  return {
    registry,
    scrape,
    handler(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const text = JSON.stringify({ error: `method ${req.method} not allowed here (use GET)`, exit_code: 2 });
        res.writeHead(405, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), allow: 'GET, HEAD' });
        res.end(text);
        return;
      }
      scrape().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (e: unknown) => {
          const text = JSON.stringify({ error: e instanceof Error ? e.message : String(e), exit_code: 1 });
          res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
      );
    },
    close() {
      unsubscribe();
      registry.clear();
    },
  };
}
