/**
 * The one place where other modules mount themselves on the API: more routes on the
 * route table (both the Unix socket and the TCP listener; the TCP guard applies), and
 * the static handler for `GET /` and `/assets/*` (the TCP listener only, no token).
 * The user daemon asks this once at start, with its event bus, so a module that
 * counts or forwards events subscribes here.
 *
 *   routes: [{ method: 'GET', path: '/metrics', handler: (c) => ... }]
 *   a handler gets {req, res, url, params, deps}; deps has workspaces(), byId(id), bus, logger, listener()
 *
 * Heavy modules belong behind `await import(...)` here, so the daemon loads only what it serves.
 */
import type { EventBus } from '../daemon/events.js';
import type { Logger } from '../log.js';
import type { UserPaths } from '../user/user-paths.js';
import type { Route } from './router.js';
import type { StaticHandler } from './server.js';

export interface ApiExtensions {
  routes: Route[];
  staticHandler?: StaticHandler;
  /** Called when the daemon stops (close webhook queues, timers). */
  close?: () => Promise<void>;
}

export async function loadApiExtensions(_ctx: { bus: EventBus; logger: Logger; paths: UserPaths }): Promise<ApiExtensions> {
  // The dashboard: its files on the TCP listener, and the two reads it needs (conflict diff, log tail).
  const [{ createDashboardHandler }, { dashboardRoutes }] = await Promise.all([import('./dashboard.js'), import('./routes-dashboard.js')]);
  return { routes: [...dashboardRoutes], staticHandler: createDashboardHandler() };
}
