// Shared helpers for `npm run bench`: sandboxes with real git, timed child processes,
// medians. Every figure is a ratio or difference against a baseline measured in the
// same run (the machines are noisy; absolute times do not carry over).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloneConfig, makeSandboxDir } from '../test/helpers/sandbox.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'dist', 'bin', 'sync-coordinator.js');

/** The shared sandbox (test/helpers/sandbox.mjs), plus `repo()`: a remote and a seeded clone. */
export function makeSandbox(prefix = 'sc-bench-') {
  const { dir, env, git, cleanup } = makeSandboxDir(prefix);
  return {
    dir,
    env,
    git,
    /** A bare remote plus one clone seeded with `files` files; returns the clone path. */
    repo(name, files = 1) {
      const remote = join(dir, `${name}-remote.git`);
      const clone = join(dir, name);
      git(dir, 'init', '-q', '--bare', '--initial-branch=main', remote);
      git(dir, 'clone', '-q', remote, clone);
      for (const [k, v] of cloneConfig('bench')) git(clone, 'config', k, v);
      git(clone, 'checkout', '-q', '-B', 'main');
      for (let i = 0; i < files; i++) {
        const sub = join(clone, `d${i % 40}`);
        mkdirSync(sub, { recursive: true });
        writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`);
      }
      writeFileSync(join(clone, 'README.md'), '# bench\n');
      git(clone, 'add', '-A');
      git(clone, 'commit', '-q', '-m', 'seed');
      git(clone, 'push', '-q', '-u', 'origin', 'main');
      return { clone, remote };
    },
    cleanup,
  };
}

/** Run a command, resolve with {ms, code, stdout, stderr}. */
export function timed(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - start, code, stdout, stderr }));
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Interleaved measurement: each iteration runs every step once, in order, so the noise
 * of the machine falls on all of them alike. The first `warmup` iterations are dropped.
 * Each step returns its time in ms (it gets the iteration index); returns one series
 * per step.
 */
export async function interleaved(iterations, warmup, steps) {
  const series = steps.map(() => []);
  for (let i = 0; i < iterations + warmup; i++) {
    for (let k = 0; k < steps.length; k++) {
      const ms = await steps[k](i);
      if (i >= warmup) series[k].push(ms);
    }
  }
  return series;
}

export const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export function machine() {
  return {
    node: process.version,
    git: execFileSync('git', ['--version'], { encoding: 'utf8' }).trim(),
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gb: Math.round(totalmem() / 2 ** 30),
  };
}

export function check(cond, what) {
  if (!cond) throw new Error(`bench setup failed: ${what}`);
}

/** Stop a user daemon whose state directory is under `stateHome` (bench clean-up). */
export function stopUserDaemon(stateHome) {
  try {
    const pid = Number(readFileSync(join(stateHome, 'sync-coordinator', 'daemon.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGTERM');
  } catch {
    /* not running */
  }
}
