/**
 * The API's two doors. `createApiRouter` is the route table with every route of this
 * folder (mount more with `router.add`); the user daemon serves it as it is on its Unix
 * socket. `startTcpApi` serves the same router on 127.0.0.1:<api.port> behind the guard
 * of auth.ts, plus an optional static handler for `GET /` and `/assets/*` (the
 * dashboard, which needs no token to load: it sends the token on each API call).
 *
 * The listener is never a reason to stop syncing: a port in use is logged, reported as
 * the listener's state (`GET /workspaces`, daemon-state.json, `daemon status`) and
 * tried again every RETRY_MS, while the socket and every workspace go on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../shared/log.js';
import { checkHost, checkOrigin, checkToken } from './auth.js';
import { HttpError, sendError } from './http.js';
import { openapiRoutes } from './openapi.js';
import { createRouter, type Route, type Router } from './router.js';
import { conflictRoutes } from './routes-conflicts.js';
import { controlRoutes } from './routes-control.js';
import { workspaceRoutes } from './routes-workspaces.js';
import { eventRoutes } from './sse.js';
import type { ApiDeps, ApiListenerState } from './types.js';

const RETRY_MS = 30_000;

export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export function createApiRouter(deps: ApiDeps, extra: Route[] = []): Router {
  return createRouter(deps, [...workspaceRoutes, ...conflictRoutes, ...controlRoutes, ...eventRoutes, ...openapiRoutes, ...extra]);
}

export interface TcpApi {
  state(): ApiListenerState;
  close(): Promise<void>;
}

export function disabledApi(): TcpApi {
  return { state: () => ({ enabled: false, listening: false, url: null, port: null, error: null }), close: async () => {} };
}

export async function startTcpApi(o: {
  port: number;
  token: string;
  router: Router;
  logger: Logger;
  staticHandler?: StaticHandler;
  host?: string;
  /** Told when the listener goes up or down (the daemon records it in daemon-state.json). */
  onState?: () => void;
}): Promise<TcpApi> {
  const host = o.host ?? '127.0.0.1';
  let port = o.port;
  let state: ApiListenerState = { enabled: true, listening: false, url: null, port, error: null };
  const server: Server = createServer((req, res) => {
    void guarded(req, res).catch((e: unknown) => sendError(res, e));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 0; // SSE streams stay open; idle sockets still close by keepAliveTimeout

  async function guarded(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkHost(req, port);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/' || path.startsWith('/assets/')) {
      if (!o.staticHandler) throw new HttpError(404, 'no dashboard is served here');
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `method ${req.method} not allowed on ${path} (use GET)`);
      return o.staticHandler(req, res);
    }
    checkOrigin(req, port);
    checkToken(req, o.token);
    await o.router.handle(req, res);
  }

  let retry: NodeJS.Timeout | null = null;
  let closed = false;
  const listen = () =>
    new Promise<void>((resolve) => {
      const onError = (e: NodeJS.ErrnoException) => {
        const why = e.code === 'EADDRINUSE' ? `port ${o.port} is in use` : `cannot listen on ${host}:${o.port}: ${e.message}`;
        if (state.error !== why)
          o.logger.error(
            { port: o.port, code: e.code },
            `HTTP API down: ${why}; the control socket and every sync go on; trying again every ${RETRY_MS / 1000} s`,
          );
        state = { enabled: true, listening: false, url: null, port: o.port, error: why };
        o.onState?.();
        if (!closed) {
          retry = setTimeout(() => void listen(), RETRY_MS);
          retry.unref();
        }
        resolve();
      };
      server.once('error', onError);
      server.listen(o.port, host, () => {
        server.off('error', onError);
        const addr = server.address();
        port = typeof addr === 'object' && addr ? addr.port : o.port;
        state = { enabled: true, listening: true, url: `http://${host}:${port}`, port, error: null };
        o.logger.info({ url: state.url }, 'HTTP API listening');
        o.onState?.();
        resolve();
      });
    });
  await listen();
  return {
    state: () => ({ ...state }),
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * The user daemon's TCP API as config.json's `api` says: off (`enabled: false`), or on
 * with the token file created on the first start. A token file it cannot use leaves the
 * API down with the reason, like a port in use.
 */
export async function openTcpApi(o: {
  api: { enabled: boolean; port: number };
  tokenFile: string;
  router: Router;
  logger: Logger;
  staticHandler?: StaticHandler;
  onState?: () => void;
}): Promise<TcpApi> {
  if (!o.api.enabled) return disabledApi();
  let token: string;
  try {
    const { ensureApiToken } = await import('./token.js');
    const t = await ensureApiToken(o.tokenFile);
    if (t.created) o.logger.info({ file: o.tokenFile }, 'created the API token');
    token = t.token;
  } catch (e) {
    const error = `no API token: ${e instanceof Error ? e.message : String(e)}`;
    o.logger.error({ file: o.tokenFile }, `HTTP API down: ${error}`);
    return { state: () => ({ enabled: true, listening: false, url: null, port: o.api.port, error }), close: async () => {} };
  }
  const { api, tokenFile: _file, ...rest } = o;
  return startTcpApi({ ...rest, port: api.port, token });
}
