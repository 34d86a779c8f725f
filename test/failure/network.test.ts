/**
 * Issue 12 item 6: network trouble is visible and bounded. A remote that accepts the
 * connection and never answers is cut after network_timeout_s (doctor's remote check
 * uses the same deadline as a sync); each retry is a log line and a stderr line saying
 * what failed and when the next try comes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { networkTimeoutMs } from '../../src/git/network.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, setupDevice, STATE_DIR, testConfig } from '../engine/engine-helpers.js';

let sb: Sandbox;
let a: string;
let server: Server | null = null;
const sockets: Socket[] = [];
beforeEach(async () => {
  sb = makeSandbox();
  a = sb.clone('a');
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
  sb.cleanup();
});

/** A git:// "server" that accepts every connection and never says a word. */
async function silentServer(): Promise<number> {
  server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

/** A port nobody listens on (connection refused at once). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('network trouble, visible and bounded', () => {
  it('networkTimeoutMs follows network_timeout_s', () => {
    expect(networkTimeoutMs({ network_timeout_s: 60 })).toBe(60_000);
  });

  it('doctor cuts a remote that never answers after network_timeout_s', async () => {
    await setupDevice(sb, a, testConfig('a', { network_timeout_s: 2 }));
    const port = await silentServer();
    sb.git(a, 'remote', 'set-url', 'origin', `git://127.0.0.1:${port}/r.git`);
    const started = Date.now();
    const r = await cli(sb, a, ['doctor', '--json']);
    const took = Date.now() - started;
    const remote = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'remote');
    expect(remote.status).toBe('fail');
    expect(remote.message).toMatch(/did not answer within 2 s/);
    // 2 s deadline + the kill grace, far below doctor's old fixed 10 s.
    expect(took).toBeLessThan(9_000);
  });

  it('a sync against a remote that never answers is cut after network_timeout_s, not stuck_timeout_s', async () => {
    await setupDevice(sb, a, testConfig('a', { network_timeout_s: 2, stuck_timeout_s: 600, retries: { default: 0 } }));
    sb.git(a, 'remote', 'set-url', 'origin', `git://127.0.0.1:${await silentServer()}/r.git`);
    writeFileSync(join(a, 'f.txt'), 'x\n');
    const started = Date.now();
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unreachable|timed out/);
    expect(Date.now() - started).toBeLessThan(15_000); // 2 s + kill grace, not 600 s
  });

  it('each retry is a stderr line (not a terminal) and a log line, with the next try time', async () => {
    await setupDevice(sb, a, testConfig('a', { retries: { default: 2, min_delay_ms: 100, max_delay_ms: 200 } }));
    sb.git(a, 'remote', 'set-url', 'origin', `git://127.0.0.1:${await closedPort()}/r.git`);
    writeFileSync(join(a, 'f.txt'), 'x\n');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => /failed \(attempt \d of 3\).*next try in [\d.]+ s, at \d{4}-/.test(l));
    expect(lines.length, r.stderr).toBe(2);
    expect(lines[0]).toMatch(/unreachable/);
    const log = readFileSync(join(a, STATE_DIR, 'coordinator.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('retrying with backoff'));
    expect(log.length).toBe(2);
    expect(JSON.parse(log[0]!)).toMatchObject({ next_try_at: expect.any(String), delay_ms: expect.any(Number) });
  });
});
