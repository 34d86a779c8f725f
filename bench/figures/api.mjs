// The local HTTP API (issue 16): `GET /api/v1/workspaces/{id}/status` latency under 50
// concurrent clients (target p99 < 20 ms; baseline: `GET /api/v1/workspaces`, which
// reads no file), SSE fan-out to 20 clients while syncing (every client gets every
// event of each sync; delivery lag = arrival - the event's own time), and the user
// daemon's RSS with the API on and 20 streams open versus `api.enabled: false`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BIN, check, makeSandbox, round, stopUserDaemon, timed } from '../lib.mjs';
import { waitFor } from '../../test/helpers/sandbox.mjs';

export const name = 'api';

const CLIENTS = 50;
const PER_CLIENT = 40;
const STREAMS = 20;
const SYNCS = 5;

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

function get(port, token, path, agent) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function post(port, token, path, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const headers = {
      host: `127.0.0.1:${port}`,
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(data),
    };
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function stream(port, token) {
  const got = [];
  let buf = '';
  const req = request(
    { host: '127.0.0.1', port, path: '/api/v1/events', agent: false, headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}` } },
    (res) => {
      res.on('data', (c) => {
        const at = Date.now();
        buf += c;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const data = /^data: (.*)$/m.exec(buf.slice(0, i))?.[1];
          buf = buf.slice(i + 2);
          if (data) got.push({ ...JSON.parse(data), at });
        }
      });
    },
  );
  req.on('error', () => {});
  req.end();
  return { got, close: () => req.destroy() };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function daemon(sb, label, api) {
  const xdg = join(sb.dir, `xdg-${label}`);
  const env = { ...sb.env, XDG_CONFIG_HOME: join(xdg, 'config'), XDG_STATE_HOME: join(xdg, 'state'), XDG_RUNTIME_DIR: join(xdg, 'run') };
  mkdirSync(join(xdg, 'run'), { recursive: true, mode: 0o700 });
  mkdirSync(join(xdg, 'config', 'sync-coordinator'), { recursive: true, mode: 0o700 });
  writeFileSync(join(xdg, 'config', 'sync-coordinator', 'config.json'), JSON.stringify({ api }));
  const { clone } = sb.repo(label, 200);
  check((await timed(process.execPath, [BIN, 'init'], { cwd: clone, env })).code === 0, 'init');
  writeFileSync(
    join(clone, '.claude/sync-coordination/config.json'),
    JSON.stringify({ watch: { enabled: false }, pull_interval_s: 0, rate_limiting_enabled: false }),
  );
  const start = await timed(process.execPath, [BIN, 'daemon', 'start'], { cwd: clone, env });
  check(start.code === 0, `daemon start: ${start.stderr}`);
  const pid = Number(/pid (\d+)/.exec(start.stdout)[1]);
  const token = () => readFileSync(join(xdg, 'config', 'sync-coordinator', 'api-token'), 'utf8').trim();
  return { env, clone, pid, token, stop: () => stopUserDaemon(join(xdg, 'state')) };
}

export async function run() {
  if (process.platform !== 'linux') return { figure: 'api', skipped: 'needs /proc (Linux)' };
  const sb = makeSandbox();
  const daemons = [];
  const streams = [];
  try {
    const port = await freePort();
    const on = await daemon(sb, 'on', { port });
    daemons.push(on);
    const off = await daemon(sb, 'off', { enabled: false });
    daemons.push(off);
    // Throws (token file or socket missing) until the daemon is up: waitFor retries those.
    const token = await waitFor(
      async () => {
        const t = on.token();
        const r = await get(port, t, '/api/v1/workspaces', false);
        return r.status === 200 && JSON.parse(r.body).workspaces[0]?.status === 'running' && t;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the API to come up' },
    );
    const id = JSON.parse((await get(port, token, '/api/v1/workspaces', false)).body).workspaces[0].id;

    // Fan-out: 20 streams open while SYNCS syncs run.
    for (let i = 0; i < STREAMS; i++) streams.push(stream(port, token));
    await sleep(500);
    const ops = [];
    for (let i = 0; i < SYNCS; i++) {
      writeFileSync(join(on.clone, `bench-${i}.txt`), `${i}\n`);
      const r = await post(port, token, `/api/v1/workspaces/${id}/sync?wait=1`, { type: 'manual', caller: 'bench' });
      check(r.result === 'ok', `sync: ${JSON.stringify(r)}`);
      ops.push(r.op);
    }
    await sleep(1000);
    const ids = (s) => s.got.filter((e) => e.data?.op && ops.includes(e.data.op)).map((e) => e.id);
    const expected = ids(streams[0]);
    const complete =
      streams.every((s) => JSON.stringify(ids(s)) === JSON.stringify(expected)) &&
      streams.every((s) => s.got.filter((e) => e.type === 'sync.finished').length >= SYNCS);
    const lags = streams.flatMap((s) => s.got.filter((e) => e.data?.op && ops.includes(e.data.op)).map((e) => e.at - Date.parse(e.time)));

    // RSS with the dashboard open (the streams) against the daemon with the API off,
    // after the same syncs (through its socket), before the latency load below.
    for (let i = 0; i < SYNCS; i++) {
      writeFileSync(join(off.clone, `bench-${i}.txt`), `${i}\n`);
      check((await timed(process.execPath, [BIN, 'sync-now'], { cwd: off.clone, env: off.env })).code === 0, 'sync-now (api off)');
    }
    await sleep(2000);
    const rssOn = rssMb(on.pid);
    const rssOff = rssMb(off.pid);

    // Latency: 50 clients, each with its own keep-alive connection, back to back.
    const load = async (path) => {
      const lat = [];
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          for (let i = 0; i < PER_CLIENT; i++) {
            const r = await get(port, token, path, agent);
            check(r.status === 200, `${path}: ${r.status}`);
            lat.push(r.ms);
          }
          agent.destroy();
        }),
      );
      return lat;
    };
    await load(`/api/v1/workspaces/${id}/status`); // warm-up
    const base = await load('/api/v1/workspaces');
    const lat = await load(`/api/v1/workspaces/${id}/status`);

    const p50 = pct(lat, 50);
    const p99 = pct(lat, 99);
    const lag50 = pct(lags, 50);
    const lag99 = pct(lags, 99);
    return {
      figure: `API: status under ${CLIENTS} clients, SSE to ${STREAMS} clients, RSS on vs off`,
      status_p50_ms: round(p50, 2),
      status_p99_ms: round(p99, 2),
      requests: lat.length,
      baseline: 'GET /api/v1/workspaces (no file read), same load',
      baseline_p50_ms: round(pct(base, 50), 2),
      baseline_p99_ms: round(pct(base, 99), 2),
      sse_clients: STREAMS,
      sse_events_per_client: expected.length,
      sse_all_delivered: complete,
      sse_lag_p50_ms: lag50,
      sse_lag_p99_ms: lag99,
      rss_api_on_mb: round(rssOn, 1),
      rss_api_off_mb: round(rssOff, 1),
      rss_delta_mb: round(rssOn - rssOff, 1),
      summary: `status p50 ${round(p50, 1)} ms p99 ${round(p99, 1)} ms; SSE ${STREAMS}x${expected.length} events ${complete ? 'all delivered' : 'MISSING some'}, lag p50 ${lag50} ms p99 ${lag99} ms; RSS ${round(rssOn, 1)} MB on vs ${round(rssOff, 1)} MB off (+${round(rssOn - rssOff, 1)} MB)`,
      target: 'status p99 < 20 ms; every SSE client gets every event; RSS +10 MB at most',
      pass: p99 < 20 && complete && rssOn - rssOff <= 10,
    };
  } finally {
    for (const s of streams) s.close();
    for (const d of daemons) d.stop();
    await sleep(500);
    sb.cleanup();
  }
}
