/**
 * A real user daemon for the API tests: its own HOME and XDG directories, a free port in
 * its global config.json, workspaces cloned from a real bare remote, and plain node:http
 * clients for its TCP listener (with any Host, Origin or token) and its Unix socket.
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, waitFor, type CliResult } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';

export const STATE = '.claude/sync-coordination';

export interface Device {
  sb: Sandbox;
  env: NodeJS.ProcessEnv;
  configDir: string;
  userState: string;
  socket: string;
  port: number;
  cli(cwd: string, args: string[], timeoutMs?: number): Promise<CliResult>;
  token(): string;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function device(prefix: string, sandboxes: Sandbox[], api: Record<string, unknown> = {}): Promise<Device> {
  const sb = makeSandbox(prefix);
  sandboxes.push(sb);
  const xdg = join(sb.dir, 'xdg');
  const runtime = join(xdg, 'run');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const configDir = join(xdg, 'config', 'sync-coordinator');
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const port = await freePort();
  writeFileSync(join(configDir, 'config.json'), JSON.stringify({ api: { port, ...api } }));
  const env = { ...sb.env, XDG_CONFIG_HOME: join(xdg, 'config'), XDG_STATE_HOME: join(xdg, 'state'), XDG_RUNTIME_DIR: runtime };
  return {
    sb,
    env,
    configDir,
    userState: join(xdg, 'state', 'sync-coordinator'),
    socket: join(runtime, 'sync-coordinator', 'control.sock'),
    port,
    cli: (cwd, args, timeoutMs = 60_000) => runCli(args, { cwd, env, timeoutMs }),
    token: () => readFileSync(join(configDir, 'api-token'), 'utf8').trim(),
  };
}

export async function workspace(d: Device, name: string, config: Record<string, unknown> = {}): Promise<string> {
  const repo = d.sb.clone(name);
  const init = await d.cli(repo, ['init']);
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(join(repo, STATE, 'config.json'), JSON.stringify({ pull_interval_s: 0, watch: { enabled: false }, process_interval_s: 1, ...config }));
  return repo;
}

/** `daemon start` in `repo` (registers it), then waits until the TCP API answers or is reported down. */
export async function startDaemon(d: Device, repo: string): Promise<number> {
  const start = await d.cli(repo, ['daemon', 'start']);
  expect(start.code, start.stderr).toBe(0);
  const pid = Number(/pid (\d+)/.exec(start.stdout)![1]);
  await waitFor(() => existsSync(d.socket), { what: 'the control socket' });
  return pid;
}

/** What JSON.parse gives: the tests read answers field by field. */
export type Json = ReturnType<typeof JSON.parse>;

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Json;
}

export function http(
  target: { port: number } | { socket: string },
  method: string,
  path: string,
  o: { token?: string | null; host?: string; origin?: string; body?: string | Buffer | object; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : typeof o.body === 'string' || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
    const headers: Record<string, string | number> = { connection: 'close', ...(o.headers ?? {}) };
    if ('port' in target) headers.host = o.host ?? `127.0.0.1:${target.port}`;
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.origin) headers.origin = o.origin;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const where = 'port' in target ? { host: '127.0.0.1', port: target.port } : { socketPath: target.socket };
    const req = request({ ...where, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => {
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface SseEvent {
  id: number;
  event: string;
  data: Json;
}

/** An SSE client: events as they arrive, `until` waits for a condition on them, `close` hangs up. */
export function sse(port: number, token: string, o: { lastEventId?: number; query?: string } = {}) {
  const events: SseEvent[] = [];
  let status = 0;
  let buf = '';
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}`, accept: 'text/event-stream' };
  if (o.lastEventId !== undefined) headers['last-event-id'] = String(o.lastEventId);
  const req = request({ host: '127.0.0.1', port, path: `/api/v1/events${o.query ?? ''}`, headers, agent: false }, (res) => {
    status = res.statusCode ?? 0;
    res.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const f: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const k = line.slice(0, line.indexOf(':'));
          f[k] = line.slice(line.indexOf(':') + 1).trimStart();
        }
        if (f.event) events.push({ id: Number(f.id), event: f.event, data: JSON.parse(f.data ?? 'null') });
      }
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  req.end();
  return {
    events,
    status: () => status,
    until: <T>(pick: (evs: SseEvent[]) => T, what: string, timeoutMs = 30_000) => waitFor(() => pick(events), { what, timeoutMs }),
    close: () => req.destroy(),
  };
}
