/**
 * The TCP listener's doors with a real server on a free port: the static handler (the
 * dashboard's mount point) needs no token but the Host guard still applies; a route
 * mounted with `router.add` (the metrics' mount point) is behind the token.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/shared/events.js';
import { createApiRouter, startTcpApi, type TcpApi } from '../../src/api/server.js';
import { silentLogger } from '../../src/shared/log.js';
import { http } from './harness.js';

const open: TcpApi[] = [];
afterEach(async () => {
  for (const a of open.splice(0)) await a.close();
});

describe('TCP listener', () => {
  it('serves the static handler without a token, mounted routes behind it, and the Host guard on both', async () => {
    const token = 'x'.repeat(43);
    const router = createApiRouter({ workspaces: () => [], byId: () => undefined, bus: createEventBus(), logger: silentLogger, listener: () => api.state() });
    router.add({ method: 'GET', path: '/metrics', handler: (c) => void c.res.end('metric 1\n') });
    const api = await startTcpApi({
      port: 0,
      token,
      router,
      logger: silentLogger,
      staticHandler: (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`static ${req.url}`);
      },
    });
    open.push(api);
    const { port } = api.state();
    expect(api.state()).toMatchObject({ enabled: true, listening: true, url: `http://127.0.0.1:${port}` });
    const tcp = { port: port! };
    expect((await http(tcp, 'GET', '/')).text).toBe('static /');
    expect((await http(tcp, 'GET', '/assets/app.js')).text).toBe('static /assets/app.js');
    expect((await http(tcp, 'GET', '/', { host: 'evil.example' })).status).toBe(421);
    expect((await http(tcp, 'POST', '/', { body: {} })).status).toBe(405);
    expect((await http(tcp, 'GET', '/metrics')).status).toBe(401);
    expect((await http(tcp, 'GET', '/metrics', { token })).text).toBe('metric 1\n');
    expect((await http(tcp, 'GET', '/api/v1/workspaces', { token })).json).toMatchObject({ workspaces: [], api: { listening: true } });
    expect((await http(tcp, 'GET', '/api/v1/workspaces/abc', { token })).status).toBe(404);
  });
});
