/**
 * The dashboard's static handler over a real HTTP server: only the allow-listed names
 * are served (no traversal, however encoded), with their content types, the CSP and
 * nosniff headers and ETag revalidation; a missing build is a clear 503.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardHandler, DASHBOARD_PATHS } from '../../src/api/dashboard.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let dir: string;
let cleanup: () => void;
let server: Server;
let port: number;

/** A raw request: the path goes on the wire as written (no URL normalisation by a client). */
function get(path: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  ({ dir, cleanup } = makeTempDir('sc-dash-'));
  const assets = join(dir, 'assets');
  mkdirSync(assets);
  for (const [name, text] of [
    ['index.html', '<!doctype html><title>dash</title>'],
    ['app.js', 'export const app = 1;'],
    ['api.js', 'export const api = 1;'],
    ['views.js', 'export const views = 1;'],
    ['style.css', 'body{}'],
    ['uPlot.min.js', 'var uPlot=1;'],
    ['uPlot.min.css', '.u{}'],
    ['favicon.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
  ])
    writeFileSync(join(assets, name!), text!);
  // Files beside and above the assets directory that a traversal would reach.
  writeFileSync(join(dir, 'secret.txt'), 'TOP SECRET');
  writeFileSync(join(assets, 'notes.txt'), 'not on the list');
  const handler = createDashboardHandler({ dir: assets });
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  cleanup();
});

describe('dashboard static handler', () => {
  it('serves the page and its assets with their content types and the security headers', async () => {
    const types: Record<string, RegExp> = {
      '/': /^text\/html; charset=utf-8$/,
      '/assets/app.js': /^text\/javascript; charset=utf-8$/,
      '/assets/style.css': /^text\/css; charset=utf-8$/,
      '/assets/uPlot.min.js': /^text\/javascript; charset=utf-8$/,
      '/assets/uPlot.min.css': /^text\/css; charset=utf-8$/,
      '/assets/favicon.svg': /^image\/svg\+xml$/,
    };
    for (const [path, type] of Object.entries(types)) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toMatch(type);
      expect(r.headers['content-security-policy'], path).toMatch(/^default-src 'self'(;|$)/);
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
      expect(r.headers['cache-control'], path).toBe('no-cache');
      expect(r.headers['set-cookie'], path).toBeUndefined();
      expect(r.headers['access-control-allow-origin'], path).toBeUndefined();
    }
    expect((await get('/')).body).toBe('<!doctype html><title>dash</title>');
    expect((await get('/assets/app.js?v=2')).body).toBe('export const app = 1;');
    expect(DASHBOARD_PATHS).toContain('/assets/views.js');
  });

  it('answers 404 for every name off the list, however the path is written, and never leaks a file', async () => {
    for (const path of [
      '/assets/notes.txt',
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/..%2fsecret.txt',
      '/assets/%2E%2E%2Fsecret.txt',
      '/assets//app.js',
      '/assets/app.js/',
      '/assets/APP.JS',
      '/assets/app.js%00.css',
      '/assets/',
      '/secret.txt',
      '/..',
      '/assets/../../../../etc/passwd',
    ]) {
      const r = await get(path);
      expect([400, 404], path).toContain(r.status);
      expect(r.body, path).not.toContain('TOP SECRET');
      expect(r.body, path).not.toContain('not on the list');
      expect(r.body, path).not.toContain('root:');
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
    }
  });

  it('revalidates with an ETag (304), answers HEAD without a body, and refuses other methods', async () => {
    const first = await get('/assets/style.css');
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    const again = await get('/assets/style.css', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expect((await get('/assets/style.css', { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    const head = await get('/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBe('<!doctype html><title>dash</title>'.length);
    const post = await get('/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('says how to fix an install without the built files (503), and serves them once built', async () => {
    const empty = join(dir, 'not-built');
    const handler = createDashboardHandler({ dir: empty });
    const srv = createServer((req, res) => handler(req, res));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const saved = port;
    port = (srv.address() as { port: number }).port;
    try {
      const r = await get('/');
      expect(r.status).toBe(503);
      expect(r.body).toMatch(/npm run build/);
      mkdirSync(empty);
      writeFileSync(join(empty, 'index.html'), 'built now');
      const later = await get('/');
      expect(later.status).toBe(200);
      expect(later.body).toBe('built now');
    } finally {
      port = saved;
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});
