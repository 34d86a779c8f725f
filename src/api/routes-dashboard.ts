/**
 * The two reads the dashboard needs beyond the CLI's list views:
 *
 *   GET /api/v1/workspaces/{id}/conflicts/diff?path=P   what each side of the open conflict
 *        at P changed against their common base: the JSON of `conflicts show P --json`
 *   GET /api/v1/workspaces/{id}/log?lines=N             the last N lines (1-500, default
 *        50) of the workspace's daemon and coordinator logs, merged by time, as `daemon logs`
 *
 * Both read through the modules the CLI prints from (core/conflict-diff.ts,
 * core/log-view.ts), so the page and the terminal never disagree. Paths and log lines
 * are untrusted text: they go out as JSON strings and the page shows them as text.
 */
import { promises as fs } from 'node:fs';
import { UsageError } from '../shared/errors.js';
import { checkConflictPath } from '../core/conflict-resolve.js';
import type { Workspace } from '../git/workspace.js';
import { readConflictsView } from '../git/tree-conflicts.js';
import { badField, send, wholeQuery } from './http.js';
import type { Route, RouteContext } from './router.js';
import { liveOf } from './routes-workspaces.js';

export const MAX_LOG_LINES = 500;

export const dashboardRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/workspaces/{id}/conflicts/diff', handler: conflictDiff },
  { method: 'GET', path: '/api/v1/workspaces/{id}/log', handler: logTail },
];

async function conflictDiff(c: RouteContext): Promise<void> {
  const raw = c.url.searchParams.get('path');
  if (raw === null) throw badField('path', new Error('path is required: a file or conflict copy as shown by GET .../conflicts'));
  let path: string;
  try {
    path = checkConflictPath('path', raw);
  } catch (e) {
    throw badField('path', e);
  }
  if (path.startsWith('/') || path.split('/').includes('..'))
    throw badField('path', new Error('path must be inside the work tree, as shown by GET .../conflicts'));
  const { ws } = await liveOf(c);
  try {
    send(c.res, 200, await showJson(ws, path));
  } catch (e) {
    if (e instanceof UsageError) throw badField('path', e);
    throw e;
  }
}

/** `conflicts show <path> --json` as an object: the same computation the command prints. */
async function showJson(ws: Workspace, path: string): Promise<unknown> {
  const { conflictDiff } = await import('../core/conflict-diff.js');
  const text = await fs.readFile(ws.paths.conflictsLog, 'utf8').catch(() => '');
  const view = await readConflictsView(ws.git, text);
  return (await conflictDiff(ws.git, path, text, view)).json;
}

async function logTail(c: RouteContext): Promise<void> {
  const n = wholeQuery(c.url, 'lines', 50, MAX_LOG_LINES);
  const { ws } = await liveOf(c);
  const { logSources, tailLogs } = await import('../core/log-view.js');
  const { lines } = await tailLogs(logSources(ws.paths), n);
  send(c.res, 200, { lines: lines.map((l) => ({ time: l.time ? new Date(l.time).toISOString() : null, source: l.source, text: l.text })) });
}
