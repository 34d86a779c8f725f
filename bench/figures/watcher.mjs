// Watcher (issue 5): save-to-remote latency minus debounce_ms (at most 300 ms), and
// the number of commits a 1000-write burst across 200 files produces (1). Runs
// `sync-coordinator watch` in the foreground. Baseline: one raw git pipeline.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, makeSandbox, median, round } from '../lib.mjs';
import { rawPipeline } from './raw-pipeline.mjs';
import { waitFor } from '../../test/helpers/sandbox.mjs';

export const name = 'watcher';

const DEBOUNCE = 500;

function remoteTip(remote) {
  try {
    return readFileSync(join(remote, 'refs', 'heads', 'main'), 'utf8').trim();
  } catch {
    return null;
  }
}

function waitForNewTip(remote, old, timeoutMs) {
  return waitFor(
    () => {
      const tip = remoteTip(remote);
      return tip && tip !== old ? { tip, at: performance.now() } : null;
    },
    { timeoutMs, intervalMs: 5, what: 'the remote to change' },
  );
}

export async function run({ saves = 8 } = {}) {
  const sb = makeSandbox();
  let watcher;
  try {
    const { clone, remote } = sb.repo('watched', 200);
    const raw = sb.repo('raw').clone;
    writeFileSync(join(raw, 'x.txt'), 'x\n');
    const baseline = await rawPipeline(raw, sb.env);
    await new Promise((r, j) =>
      spawn(process.execPath, [BIN, 'init'], { cwd: clone, env: sb.env }).on('exit', (c) => (c === 0 ? r() : j(new Error('init failed')))),
    );
    writeFileSync(
      join(clone, '.claude/sync-coordination/config.json'),
      JSON.stringify({ rate_limiting_enabled: false, debounce_ms: DEBOUNCE, max_wait_ms: 10_000 }),
    );
    watcher = spawn(process.execPath, [BIN, 'watch'], { cwd: clone, env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watcher.stdout.on('data', (d) => (out += d));
    await waitFor(() => out.includes('watching'), { timeoutMs: 15_000, intervalMs: 20, what: 'the watcher to start' });
    await new Promise((r) => setTimeout(r, 500)); // chokidar's initial scan

    const latencies = [];
    for (let i = 0; i < saves; i++) {
      const old = remoteTip(remote);
      writeFileSync(join(clone, 'd1', 'f1.txt'), `save ${i}\n`);
      const t0 = performance.now();
      const { at } = await waitForNewTip(remote, old, 20_000);
      latencies.push(at - t0 - DEBOUNCE);
      await new Promise((r) => setTimeout(r, DEBOUNCE + 200)); // let the tree settle between saves
    }

    // 1000 writes across 200 files in a burst → commits on the remote.
    const before = sb.git(remote, 'rev-list', '--count', 'main').trim();
    const burstStart = performance.now();
    for (let i = 0; i < 1000; i++) writeFileSync(join(clone, `d${i % 40}`, `f${i % 200}.txt`), `burst ${i}\n`);
    const lastWrite = performance.now();
    await waitForNewTip(remote, remoteTip(remote), 30_000);
    // Quiet period: no further commit arrives.
    const settle = Date.now() + DEBOUNCE * 4 + 1000;
    while (Date.now() < settle) await new Promise((r) => setTimeout(r, 50));
    const commits = Number(sb.git(remote, 'rev-list', '--count', 'main').trim()) - Number(before);
    const m = median(latencies);
    return {
      figure: `save → remote latency minus debounce_ms (${DEBOUNCE} ms)`,
      median_ms: round(m),
      baseline: 'one raw git pipeline',
      baseline_median_ms: round(baseline.ms),
      ratio: round(m / baseline.ms),
      burst_writes: 1000,
      burst_write_ms: round(lastWrite - burstStart),
      burst_commits: commits,
      summary: `1000-write burst → ${commits} commit(s)`,
      target: 'latency − debounce <= 300 ms; burst → 1 commit (at most 2)',
      pass: m <= 300 && commits >= 1 && commits <= 2,
      saves,
    };
  } finally {
    watcher?.kill('SIGTERM');
    if (watcher) await new Promise((r) => (watcher.exitCode !== null ? r() : watcher.once('exit', r)));
    sb.cleanup();
  }
}
