/**
 * A small route table: each route is a method, a path pattern in OpenAPI form
 * (`/api/v1/workspaces/{id}/status`) and a handler. A path that matches no pattern is
 * 404, one that matches with another method is 405 with `Allow`. Other modules mount
 * their routes with `router.add(...)` (metrics, webhooks); the table is the one place
 * that says what the API serves.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExitCode } from '../shared/errors.js';
import { HttpError, sendError } from './http.js';
import type { ApiDeps } from './types.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The `{name}` segments of the pattern, decoded. */
  params: Record<string, string>;
  deps: ApiDeps;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  handler: (c: RouteContext) => Promise<void> | void;
}

export interface Router {
  add(...routes: Route[]): void;
  routes(): readonly Route[];
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function createRouter(deps: ApiDeps, initial: Route[] = []): Router {
  const table: Array<Route & { parts: string[] }> = [];
  const add = (...routes: Route[]) => {
    for (const r of routes) table.push({ ...r, parts: r.path.split('/').filter(Boolean) });
  };
  add(...initial);
  return {
    add,
    routes: () => table,
    async handle(req, res) {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const method = req.method ?? 'GET';
        const segs = url.pathname.split('/').filter(Boolean);
        const allowed: string[] = [];
        for (const r of table) {
          const params = match(r.parts, segs);
          if (!params) continue;
          if (r.method !== method) {
            allowed.push(r.method);
            continue;
          }
          await r.handler({ req, res, url, params, deps });
          return;
        }
        if (allowed.length)
          throw new HttpError(405, `method ${method} not allowed on ${url.pathname} (use ${allowed.join(', ')})`, ExitCode.usage, null, {
            allow: allowed.join(', '),
          });
        throw new HttpError(404, `no route ${url.pathname}`, ExitCode.usage);
      } catch (e) {
        sendError(res, e);
      }
    },
  };
}

function match(parts: string[], segs: string[]): Record<string, string> | null {
  if (parts.length !== segs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const s = segs[i]!;
    if (p.startsWith('{') && p.endsWith('}')) {
      let v: string;
      try {
        v = decodeURIComponent(s);
      } catch {
        return null;
      }
      params[p.slice(1, -1)] = v;
    } else if (p !== s) return null;
  }
  return params;
}
