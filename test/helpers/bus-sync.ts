/**
 * Workspaces served as the user daemon serves them (`view()` + `live()`), and real
 * syncs of them (in-process `processQueue`, real git, a real bare remote) whose events
 * go onto a real bus the way the daemon emits them: `request.queued` when the request
 * is written, `step.started` from the step callback, `sync.finished` per batch (with its
 * requests' callers and its retries, as src/api/observer.ts sends them).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadConfig, type Config, type SyncType } from '../../src/shared/config.js';
import { processQueue } from '../../src/core/coordinator.js';
import { enqueue, newRequestId } from '../../src/core/queue.js';
import { DEFAULT_PRIORITY, type SyncRequest } from '../../src/core/request.js';
import { resolveWorkspace, type Workspace } from '../../src/git/workspace.js';
import type { EventBus } from '../../src/shared/events.js';
import { silentLogger } from '../../src/shared/log.js';
import { runCli } from './cli.js';
import type { Sandbox } from './git-fixture.js';

export const STATE = '.claude/sync-coordination';

export interface ServedFixture {
  id: string;
  repo: string;
  ws: Workspace;
  config: Config;
  view(): { id: string; path: string; status: 'running'; error: null; since: string };
  live(): { ws: Workspace; config: Config };
}

/**
 * In-process git must not read the developer's global config: point HOME and
 * XDG_CONFIG_HOME at the sandbox for the test. Returns the restore function.
 */
export function useSandboxEnv(sb: Sandbox): () => void {
  const keys = ['HOME', 'XDG_CONFIG_HOME', 'GIT_CONFIG_NOSYSTEM'] as const;
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  process.env.HOME = sb.home;
  process.env.XDG_CONFIG_HOME = join(sb.home, '.config');
  process.env.GIT_CONFIG_NOSYSTEM = '1';
  return () => {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
}

export async function servedWorkspace(sb: Sandbox, name: string, id: string, config: Record<string, unknown> = {}): Promise<ServedFixture> {
  const repo = sb.clone(name);
  const init = await runCli(['init'], { cwd: repo, env: sb.env });
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(join(repo, STATE, 'config.json'), JSON.stringify({ watch: { enabled: false }, pull_interval_s: 0, device_name: name, ...config }));
  const ws = await resolveWorkspace(repo);
  const loaded = await loadConfig(ws.paths.config);
  const since = new Date().toISOString();
  return {
    id,
    repo,
    ws,
    config: loaded,
    view: () => ({ id, path: repo, status: 'running', error: null, since }),
    live: () => ({ ws, config: loaded }),
  };
}

/** Write a request as the API's sync route does, and say so on the bus. */
export async function queueRequest(bus: EventBus, fx: ServedFixture, type: SyncType, caller: string): Promise<SyncRequest> {
  const now = Date.now();
  const request: SyncRequest = {
    id: newRequestId(now),
    type,
    caller,
    priority: DEFAULT_PRIORITY[type],
    reason: 'test',
    created_at: new Date(now).toISOString(),
    pid: process.pid,
  };
  await enqueue(fx.ws.paths.queue, request);
  bus.emit('request.queued', fx.id, { request_id: request.id, type, priority: request.priority, caller, reason: request.reason });
  return request;
}

/** Process the queue now (a real sync) and emit its steps and results; returns the results. */
export async function processAndEmit(bus: EventBus, fx: ServedFixture): Promise<{ type: string; result: string | null; op: string | null; ms: number }[]> {
  const started = Date.now();
  const report = await processQueue({
    ws: fx.ws,
    config: fx.config,
    logger: silentLogger,
    caller: 'daemon',
    lockTimeoutMs: 20_000,
    onStep: (step, op) => bus.emit('step.started', fx.id, { op, step }),
  });
  const ms = Date.now() - started;
  const out = [];
  for (const b of report.batches) {
    if (b.outcome !== 'processed') continue;
    bus.emit('sync.finished', fx.id, {
      op: b.op,
      type: b.type,
      result: b.result,
      message: b.message,
      duration_ms: ms,
      request_ids: b.requestIds,
      requests_by_caller: b.callers,
      retries_by_step: b.retries,
    });
    out.push({ type: b.type, result: b.result, op: b.op, ms });
  }
  return out;
}

export async function syncOnce(bus: EventBus, fx: ServedFixture, type: SyncType, caller = 'test') {
  await queueRequest(bus, fx, type, caller);
  return processAndEmit(bus, fx);
}
