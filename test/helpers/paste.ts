/**
 * Run a command the tool printed, verbatim, through a real shell (as a user pasting it
 * would), with `sync-coordinator` on PATH as a small wrapper around the built bin.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, type CliResult } from './cli.js';
import type { Sandbox } from './git-fixture.js';

export function pasteEnv(sb: Sandbox): NodeJS.ProcessEnv {
  const bin = join(sb.dir, 'paste-bin');
  mkdirSync(bin, { recursive: true });
  const shim = join(bin, 'sync-coordinator');
  writeFileSync(shim, `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
  chmodSync(shim, 0o755);
  return { ...sb.env, PATH: `${bin}:${sb.env.PATH}` };
}

export function paste(sb: Sandbox, cwd: string, command: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env: pasteEnv(sb), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The command after "run: " (or after ": " when `marker` is given) on the first line that has one. */
export function suggested(text: string, marker = 'run: '): string {
  for (const line of text.split('\n')) {
    const i = line.indexOf(marker);
    if (i >= 0)
      return line
        .slice(i + marker.length)
        .replace(/\s+\(.*\)$/, '')
        .trim();
  }
  throw new Error(`no suggested command in: ${text}`);
}
