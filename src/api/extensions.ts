/**
 * The one place where other modules mount themselves on the API, once at the user
 * daemon's start: routes on the route table (`router.add`: both the Unix socket and the
 * TCP listener, behind its guard), a subscriber on the event bus, and the static handler
 * for `GET /` and `/assets/*` (the TCP listener only, no token: the dashboard).
 *
 *   router.add({ method: 'GET', path: '/metrics', handler: (c) => ... })
 *   a handler gets {req, res, url, params, deps}; deps has workspaces(), byId(id), bus, logger, listener()
 *
 * Each module is loaded here with `await import(...)`, so no CLI command pays for it.
 */
import type { EventBus } from '../shared/events.js';
import type { Logger } from '../shared/log.js';
import type { UserPaths } from '../shared/user-paths.js';
import type { Router } from './router.js';
import type { StaticHandler } from './server.js';
import type { ApiDeps } from './types.js';

export interface ApiExtensions {
  staticHandler?: StaticHandler;
  /** Called when the daemon stops (webhook queues, timers). */
  close(): Promise<void>;
}

export async function mountApiExtensions(ctx: {
  router: Router;
  bus: EventBus;
  logger: Logger;
  paths: UserPaths;
  workspaces: Pick<ApiDeps, 'workspaces' | 'byId'>;
}): Promise<ApiExtensions> {
  // Metrics (GET /metrics) and webhooks (GET /api/v1/workspaces/{id}/webhooks, deliveries from the bus);
  // the dashboard: its files on the TCP listener, and the two reads it needs (conflict diff, log tail).
  const [{ mountObservability }, { createDashboardHandler }, { dashboardRoutes }] = await Promise.all([
    import('./observability.js'),
    import('./dashboard.js'),
    import('./routes-dashboard.js'),
  ]);
  const observability = await mountObservability({
    router: ctx.router,
    bus: ctx.bus,
    workspaces: ctx.workspaces,
    globalConfigFile: ctx.paths.config,
    log: ctx.logger,
  });
  ctx.router.add(...dashboardRoutes);
  return { staticHandler: createDashboardHandler(), close: () => observability.close() };
}
