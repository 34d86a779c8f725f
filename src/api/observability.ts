/**
 * The user daemon's one call to start metrics and webhooks on its event bus and mount
 * their routes on its API router (both doors: the Unix socket and the TCP listener):
 *
 *   GET /metrics                            Prometheus text (metrics.ts)
 *   GET /api/v1/workspaces/{id}/webhooks    the last deliveries of each hook (webhooks.ts)
 *
 * prom-client is loaded here, on demand, so no CLI command ever pays for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventBus } from '../shared/events.js';
import type { Logger } from '../shared/log.js';
import type { MetricsWorkspaces } from './metrics.js';
import type { WebhookWorkspaces } from './webhooks.js';

/** What the API router's `add` accepts (src/api/router.ts); only the parts used here. */
export interface RouteTable {
  add(...routes: { method: 'GET'; path: string; handler: (c: { req: IncomingMessage; res: ServerResponse; params: Record<string, string> }) => void }[]): void;
}

export async function mountObservability(o: {
  router: RouteTable;
  bus: EventBus;
  workspaces: MetricsWorkspaces & WebhookWorkspaces;
  /** The user's global config.json: its webhooks apply to every workspace. */
  globalConfigFile: string;
  log: Logger;
}): Promise<{ close(): Promise<void> }> {
  const [{ createMetrics }, { createWebhooks }] = await Promise.all([import('./metrics.js'), import('./webhooks.js')]);
  const metrics = createMetrics({ bus: o.bus, workspaces: o.workspaces, log: o.log });
  const webhooks = createWebhooks({ bus: o.bus, workspaces: o.workspaces, globalConfigFile: o.globalConfigFile, log: o.log });
  o.router.add(
    { method: 'GET', path: '/metrics', handler: ({ req, res }) => metrics.handler(req, res) },
    { method: 'GET', path: '/api/v1/workspaces/{id}/webhooks', handler: ({ req, res, params }) => webhooks.deliveriesHandler(req, res, params.id ?? '') },
  );
  return {
    async close() {
      await webhooks.close();
      metrics.close();
    },
  };
}
