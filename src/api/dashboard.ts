/**
 * The dashboard's static files (DESIGN.md section 12: `GET /` is the dashboard), served
 * from `dist/dashboard/` of this install (scripts/build-dashboard.mjs copies the page
 * and uPlot there). They carry no secret, so the API mounts this handler before its
 * token check: the page reads the token from the URL fragment and sends it itself.
 *
 * Only the names of a fixed table are served: a request path is looked up, never joined
 * to a directory, so no `..` or encoded slash can name another file. Every
 * answer forbids inline scripts and foreign origins (CSP) and MIME sniffing.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../shared/package-root.js';

/** URL path → file in the assets directory, and its content type. */
const FILES: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ['/', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/assets/app.js', { file: 'app.js', type: 'text/javascript; charset=utf-8' }],
  ['/assets/api.js', { file: 'api.js', type: 'text/javascript; charset=utf-8' }],
  ['/assets/views.js', { file: 'views.js', type: 'text/javascript; charset=utf-8' }],
  ['/assets/style.css', { file: 'style.css', type: 'text/css; charset=utf-8' }],
  ['/assets/uPlot.min.js', { file: 'uPlot.min.js', type: 'text/javascript; charset=utf-8' }],
  ['/assets/uPlot.min.css', { file: 'uPlot.min.css', type: 'text/css; charset=utf-8' }],
  ['/assets/favicon.svg', { file: 'favicon.svg', type: 'image/svg+xml' }],
]);

export const DASHBOARD_PATHS: readonly string[] = [...FILES.keys()];

/** The headers every dashboard answer carries, errors included. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

interface Loaded {
  body: Buffer;
  etag: string;
}

/** The default assets directory: `dist/dashboard/` of this install. */
function dashboardDir(): string {
  return join(packageRoot(), 'dist', 'dashboard');
}

/**
 * Returns the handler the TCP API mounts for `GET /` and `/assets/*`: it answers the
 * table's paths and 404 for any other, so nothing outside the table is ever read.
 */
export function createDashboardHandler(o: { dir?: string } = {}) {
  const dir = o.dir ?? dashboardDir();
  // Read once per file and kept: a handful of small files, and the page then loads with
  // no disk access. A failed read is not cached, so a build made later is picked up.
  const cache = new Map<string, Promise<Loaded>>();
  const load = (file: string): Promise<Loaded> => {
    let p = cache.get(file);
    if (!p) {
      p = fs.readFile(join(dir, file)).then((body) => ({ body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }));
      p.catch(() => cache.delete(file));
      cache.set(file, p);
    }
    return p;
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    // The raw path, not a normalised URL: `/assets/../x` or `/..` is simply not a name.
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const entry = FILES.get(pathname);
    if (!entry) {
      plain(res, 404, `no such dashboard file: ${pathname.slice(0, 200)}`);
      return;
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      plain(res, 405, `${method} is not allowed here; use GET`, { allow: 'GET, HEAD' });
      return;
    }
    load(entry.file).then(
      ({ body, etag }) => {
        const headers = {
          ...SECURITY_HEADERS,
          'content-type': entry.type,
          // Revalidate every time (one cheap 304): after an upgrade the page and its
          // scripts must never mix versions.
          'cache-control': 'no-cache',
          etag,
        };
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, headers).end();
          return;
        }
        res.writeHead(200, { ...headers, 'content-length': body.length });
        res.end(method === 'HEAD' ? undefined : body);
      },
      () => plain(res, 503, 'the dashboard files are missing from this install (dist/dashboard); run "npm run build"'),
    );
  };
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(text + '\n');
}
