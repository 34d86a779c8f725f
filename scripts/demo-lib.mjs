// Helpers for scripts/demo.mjs: plain Node ESM, no TypeScript loader, no dependencies.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(PROJECT_ROOT, 'dist', 'bin', 'sync-coordinator.js');

export function assertBuilt() {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" first (npm run demo does it)`);
}

/** Run a program to its end (bounded); never throws on a non-zero exit. */
export function run(cmd, args, { cwd, env, timeoutMs = 30_000 }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr, timedOut: signal === 'SIGKILL' });
    });
  });
}

/** Text shown as the demo's command output: indented, control characters removed. */
export function indent(text, prefix = '      ') {
  return text
    .replace(/\r/g, '')
    .replace(/\x1b\[[0-9;]*[A-Za-z]|[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => prefix + l)
    .join('\n');
}
