// Daemon footprint (issue 5): RSS and CPU over 10 s idle while watching 10,000 files
// (targets: RSS under 60 MB, idle CPU under 0.5%: no polling). Baseline: an idle
// `node -e "setInterval(() => {}, 1000)"` measured over the same window.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, makeSandbox, round, timed } from '../lib.mjs';
import { waitFor } from '../../test/helpers/sandbox.mjs';

export const name = 'daemon-footprint';

const TICKS = 100; // USER_HZ on Linux

function sample(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(f[11]) + Number(f[12])) / TICKS;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  return { cpuS, rssMb: rss };
}

export async function run({ files = 10_000, idleMs = 10_000 } = {}) {
  if (process.platform !== 'linux') return { figure: 'daemon footprint', skipped: 'needs /proc (Linux)' };
  const sb = makeSandbox();
  let baseline;
  try {
    const { clone } = sb.repo('big', files);
    const init = await timed(process.execPath, [BIN, 'init'], { cwd: clone, env: sb.env });
    if (init.code !== 0) throw new Error(init.stderr);
    writeFileSync(join(clone, '.claude/sync-coordination/config.json'), JSON.stringify({ watch: { enabled: true, ignore: [] }, pull_interval_s: 0 }));
    const start = await timed(process.execPath, [BIN, 'daemon', 'start'], { cwd: clone, env: sb.env });
    if (start.code !== 0) throw new Error(`daemon start failed: ${start.stderr}`);
    const status = JSON.parse((await timed(process.execPath, [BIN, 'daemon', 'status', '--json'], { cwd: clone, env: sb.env })).stdout);
    const pid = status.pid;
    // Wait for the watcher's initial scan to finish (daemon-state says watching).
    await waitFor(async () => JSON.parse((await timed(process.execPath, [BIN, 'status', '--json'], { cwd: clone, env: sb.env })).stdout).watcher?.watching, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the watcher to report watching',
    });
    // Idle means idle: let the start-up work (initial scan, first reconcile) finish.
    await new Promise((r) => setTimeout(r, 15_000));
    baseline = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const d0 = sample(pid);
    const b0 = sample(baseline.pid);
    await new Promise((r) => setTimeout(r, idleMs));
    const d1 = sample(pid);
    const b1 = sample(baseline.pid);
    const cpuPct = ((d1.cpuS - d0.cpuS) / (idleMs / 1000)) * 100;
    const baseCpuPct = ((b1.cpuS - b0.cpuS) / (idleMs / 1000)) * 100;
    await timed(process.execPath, [BIN, 'daemon', 'stop'], { cwd: clone, env: sb.env });
    return {
      figure: `daemon idle for ${idleMs / 1000} s watching ${files} files`,
      rss_mb: round(d1.rssMb, 1),
      cpu_percent: round(cpuPct, 3),
      cpu_seconds: round(d1.cpuS - d0.cpuS, 3),
      baseline: 'idle node process (setInterval)',
      baseline_rss_mb: round(b1.rssMb, 1),
      baseline_cpu_percent: round(baseCpuPct, 3),
      ratio: round(d1.rssMb / b1.rssMb),
      summary: `RSS ${round(d1.rssMb, 1)} MB (baseline ${round(b1.rssMb, 1)} MB), CPU ${round(cpuPct, 3)}% (baseline ${round(baseCpuPct, 3)}%)`,
      target: 'RSS < 60 MB, idle CPU < 0.5%',
      pass: d1.rssMb < 60 && cpuPct < 0.5,
    };
  } finally {
    baseline?.kill();
    sb.cleanup();
  }
}
