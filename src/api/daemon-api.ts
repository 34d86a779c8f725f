/**
 * The user daemon's API, built when the daemon starts (the command that runs it passes
 * this factory: the daemon and the API are sibling services and do not import each
 * other). One route table serves both doors: the control socket as it is, and the TCP
 * listener behind its guard; the extensions (metrics, webhooks, the dashboard) mount
 * on it; each workspace's unit reports to an observer that feeds the event bus.
 */
import type { DaemonApiFactory } from '../core/served.js';
import { mountApiExtensions } from './extensions.js';
import { observeWorkspace } from './observer.js';
import type { Route } from './router.js';
import { createApiRouter, openTcpApi, type StaticHandler, type TcpApi } from './server.js';

export function daemonApi(extra: { routes?: Route[]; staticHandler?: StaticHandler } = {}): DaemonApiFactory {
  return async (ctx) => {
    let tcp: TcpApi | null = null;
    const served = { workspaces: ctx.workspaces, byId: ctx.byId };
    const router = createApiRouter(
      {
        ...served,
        bus: ctx.bus,
        logger: ctx.logger,
        listener: () => tcp?.state() ?? { enabled: ctx.api.enabled, listening: false, url: null, port: null, error: 'starting' },
      },
      extra.routes,
    );
    const ext = await mountApiExtensions({ router, bus: ctx.bus, logger: ctx.logger, paths: ctx.paths, workspaces: served });
    const staticHandler = extra.staticHandler ?? ext.staticHandler;
    const listener = await openTcpApi({
      api: ctx.api,
      tokenFile: ctx.paths.apiToken,
      router,
      logger: ctx.logger,
      ...(staticHandler ? { staticHandler } : {}),
      onState: ctx.onState,
    });
    tcp = listener;
    return {
      socketHandler: (req, res) => void router.handle(req, res),
      observe: (id, ws, config) => observeWorkspace({ id, ws, config, bus: ctx.bus, logger: ctx.logger }),
      state: () => listener.state(),
      async close() {
        await listener.close();
        await ext.close().catch((e: unknown) => ctx.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'an API extension failed to close'));
      },
    };
  };
}
