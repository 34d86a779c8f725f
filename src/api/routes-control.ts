/**
 * History and the user's pause:
 *
 *   GET  /api/v1/workspaces/{id}/history?limit=N   {history: [record]} newest first (N 1-500, default 50)
 *   POST /api/v1/workspaces/{id}/pause             automatic syncs stop until resumed
 *   POST /api/v1/workspaces/{id}/resume            they start again (and one sync looks at what changed meanwhile)
 *
 * Pause and resume answer `{id, paused: {reason, since, paths, op} | null, changed}`;
 * 409 when a conflict holds the syncs (only resolving it ends that pause).
 */
import { ExitCode } from '../shared/errors.js';
import { HISTORY_KEEP, historyPath, readHistory } from '../core/history.js';
import { enqueue, newRequestId } from '../core/queue.js';
import { setUserPause } from '../core/user-pause.js';
import { appendLogLine } from '../shared/log.js';
import { withFilesChanged } from './history-view.js';
import { badField, HttpError, readJson, send, wholeQuery } from './http.js';
import type { Route, RouteContext } from './router.js';
import { liveOf, servedOf } from './routes-workspaces.js';

export const controlRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/workspaces/{id}/history', handler: history },
  { method: 'POST', path: '/api/v1/workspaces/{id}/pause', handler: (c) => pauseOrResume(c, true) },
  { method: 'POST', path: '/api/v1/workspaces/{id}/resume', handler: (c) => pauseOrResume(c, false) },
];

async function history(c: RouteContext): Promise<void> {
  const limit = wholeQuery(c.url, 'limit', 50, HISTORY_KEEP);
  const { ws } = await liveOf(c);
  send(c.res, 200, { history: await withFilesChanged(ws, await readHistory(historyPath(ws), limit)) });
}

async function pauseOrResume(c: RouteContext, pause: boolean): Promise<void> {
  const body = await readJson(c.req);
  servedOf(c);
  const extra = Object.keys(body)[0];
  if (extra !== undefined) throw badField(extra, new Error(`unknown field ${JSON.stringify(extra)}; ${pause ? 'pause' : 'resume'} takes no body`));
  const { served, ws, config } = await liveOf(c);
  const caller = pause ? 'api pause' : 'api resume';
  const change = await setUserPause({ ws, config, logger: c.deps.logger, pause, caller });
  const id = served.view().id;
  if (change.blockedBy)
    throw new HttpError(
      409,
      `automatic syncs are paused for a conflict (${change.blockedBy.reason}: ${change.blockedBy.paths.join(', ')}); resolve it with POST .../conflicts/resolve or "sync-coordinator conflicts --resolve <path>"`,
      ExitCode.conflict,
    );
  if (change.changed) {
    appendLogLine(ws.paths.coordinatorLog, 'info', { caller }, pause ? 'automatic syncs paused by the user' : 'automatic syncs resumed by the user');
    c.deps.bus.emit('workspace.changed', id, { ...served.view(), paused: change.paused });
    if (!pause) {
      // What changed while paused was refused, not kept in the queue: one low-priority
      // sync picks it up now (deferred, never rejected, by the rate limit).
      const now = Date.now();
      const req = {
        id: newRequestId(now),
        type: 'smart' as const,
        caller: 'api:resume',
        priority: 'low' as const,
        reason: 'resumed by the user',
        created_at: new Date(now).toISOString(),
        pid: process.pid,
      };
      await enqueue(ws.paths.queue, req);
      c.deps.bus.emit('request.queued', id, { request_id: req.id, type: req.type, priority: req.priority, caller: req.caller, reason: req.reason });
      served.poke();
    }
  }
  send(c.res, 200, { id, paused: change.paused, changed: change.changed });
}
