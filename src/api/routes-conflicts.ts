/**
 * Conflict routes, the same JSON as the CLI:
 *
 *   GET  /api/v1/workspaces/{id}/conflicts           as `conflicts --json` ({open, copies, count}); ?all=1 adds `all`
 *   POST /api/v1/workspaces/{id}/conflicts/resolve   {path}: as `conflicts --resolve <path> --json`
 *
 * Resolving runs the CLI's own code (core/conflict-resolve.ts): the same checks, the same
 * changes, the same errors (400 naming `path` when there is no open conflict there).
 */
import { promises as fs } from 'node:fs';
import { parseConflictLog, type ConflictRecord } from '../git/conflict-log.js';
import { checkConflictPath, resolveConflict } from '../core/conflict-resolve.js';
import { UsageError } from '../shared/errors.js';
import { readConflictsView } from '../git/tree-conflicts.js';
import { badField, readJson, send } from './http.js';
import type { Route, RouteContext } from './router.js';
import { liveOf, servedOf } from './routes-workspaces.js';

export const conflictRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/workspaces/{id}/conflicts', handler: list },
  { method: 'POST', path: '/api/v1/workspaces/{id}/conflicts/resolve', handler: resolve },
];

async function list(c: RouteContext): Promise<void> {
  const { ws } = await liveOf(c);
  const text = await fs.readFile(ws.paths.conflictsLog, 'utf8').catch(() => '');
  const view = await readConflictsView(ws.git, text);
  const all =
    c.url.searchParams.get('all') === '1'
      ? parseConflictLog(text)
          .filter((r): r is ConflictRecord => !('resolved' in r))
          .reverse()
      : null;
  send(c.res, 200, { open: view.open, copies: view.copies, count: view.count, ...(all ? { all } : {}) });
}

async function resolve(c: RouteContext): Promise<void> {
  const body = await readJson(c.req);
  servedOf(c);
  for (const k of Object.keys(body))
    if (k !== 'path') throw badField(k, new Error(`unknown field ${JSON.stringify(k)}; the body is {"path": "<file or conflict copy>"}`));
  if (typeof body.path !== 'string') throw badField('path', new Error('path is required: the file or conflict copy as shown by GET .../conflicts'));
  let path: string;
  try {
    path = checkConflictPath('path', body.path);
  } catch (e) {
    throw badField('path', e);
  }
  const { ws, config } = await liveOf(c);
  const text = await fs.readFile(ws.paths.conflictsLog, 'utf8').catch(() => '');
  const view = await readConflictsView(ws.git, text);
  try {
    send(c.res, 200, await resolveConflict({ ws, config, logger: c.deps.logger, path, view, caller: 'api conflicts/resolve' }));
  } catch (e) {
    if (e instanceof UsageError) throw badField('path', e);
    throw e;
  }
}
