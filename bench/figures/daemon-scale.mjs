// DESIGN.md section 10, "daemon scale" (issue 15): RSS and idle CPU of the user daemon
// serving 1 and 10 workspaces of 1,000 files each, watcher on (targets: RSS for 10 at
// most 1.5 times that for 1; idle CPU under 0.5 %).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, stopUserDaemon, makeSandbox, round, timed } from '../lib.mjs';
import { waitFor } from '../../test/helpers/sandbox.mjs';

export const name = 'daemon-scale';
const TICKS = 100; // USER_HZ on Linux

function sample(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { cpuS: (Number(f[11]) + Number(f[12])) / TICKS, rssMb: Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024 };
}

async function measure(n, files, idleMs) {
  const sb = makeSandbox();
  const runtime = join(sb.dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const env = { ...sb.env, XDG_RUNTIME_DIR: runtime };
  try {
    const repos = [];
    for (let i = 0; i < n; i++) {
      const { clone } = sb.repo(`w${i}`, files);
      await timed(process.execPath, [BIN, 'init'], { cwd: clone, env });
      // Idle means no local change and no sync for active_window_s: a short window, so the
      // sample below is taken after it (while active, each workspace probes its remote
      // every poll_active_s; that cost is reported in the README beside this figure).
      writeFileSync(join(clone, '.claude/sync-coordination/config.json'), JSON.stringify({ watch: { enabled: true }, active_window_s: 5 }));
      const add = await timed(process.execPath, [BIN, 'add'], { cwd: clone, env });
      if (add.code !== 0) throw new Error(add.stderr);
      repos.push(clone);
    }
    const start = await timed(process.execPath, [BIN, 'daemon', 'start'], { cwd: repos[0], env });
    if (start.code !== 0) throw new Error(`daemon start failed: ${start.stderr}`);
    const pid = Number(/pid (\d+)/.exec(start.stdout)[1]);
    for (const repo of repos) {
      await waitFor(
        async () => {
          const s = JSON.parse((await timed(process.execPath, [BIN, 'status', '--json'], { cwd: repo, env })).stdout);
          return s.watcher?.watching && s.daemon.pid === pid;
        },
        { timeoutMs: 120_000, intervalMs: 200, what: `${repo}: the watcher to report watching` },
      );
    }
    await new Promise((r) => setTimeout(r, 15_000)); // start-up work (scans, first pull) settles
    const a = sample(pid);
    await new Promise((r) => setTimeout(r, idleMs));
    const b = sample(pid);
    await timed(process.execPath, [BIN, 'daemon', 'stop'], { cwd: repos[0], env });
    return { rssMb: b.rssMb, cpuPct: ((b.cpuS - a.cpuS) / (idleMs / 1000)) * 100 };
  } finally {
    stopUserDaemon(join(sb.env.HOME, '.local', 'state'));
    sb.cleanup();
  }
}

export async function run({ files = 1000, idleMs = 10_000 } = {}) {
  if (process.platform !== 'linux') return { figure: 'daemon scale', skipped: 'needs /proc (Linux)' };
  const one = await measure(1, files, idleMs);
  const ten = await measure(10, files, idleMs);
  const ratio = ten.rssMb / one.rssMb;
  return {
    figure: `user daemon idle ${idleMs / 1000} s, 1 vs 10 workspaces of ${files} files (watcher on)`,
    rss_mb_1: round(one.rssMb, 1),
    rss_mb_10: round(ten.rssMb, 1),
    cpu_percent_1: round(one.cpuPct, 3),
    cpu_percent_10: round(ten.cpuPct, 3),
    ratio: round(ratio),
    summary: `RSS ${round(one.rssMb, 1)} -> ${round(ten.rssMb, 1)} MB, idle CPU ${round(one.cpuPct, 3)}% / ${round(ten.cpuPct, 3)}%`,
    target: 'RSS(10) <= 1.5 x RSS(1), idle CPU < 0.5%',
    pass: ratio <= 1.5 && ten.cpuPct < 0.5,
  };
}
