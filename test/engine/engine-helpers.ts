/**
 * Shared helpers for the sync-engine tests: devices (clones) with their own config,
 * the CLI run in a clone, and git-as-the-oracle assertions (trees, history, markers).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import type { Sandbox } from '../helpers/git-fixture.js';

export const STATE_DIR = '.claude/sync-coordination';

/** Fast, deterministic defaults for tests; `extra` is merged on top (nested objects too). */
export function testConfig(device: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    device_name: device,
    rate_limiting_enabled: false,
    lock_timeout_ms: 20_000,
    retries: { default: 1, robust: 1, min_delay_ms: 20, max_delay_ms: 50 },
    stuck_timeout_s: 60,
  };
  for (const [k, v] of Object.entries(extra)) {
    const old = base[k];
    base[k] = old && typeof old === 'object' && v && typeof v === 'object' && !Array.isArray(v) ? { ...old, ...v } : v;
  }
  return base;
}

export async function setupDevice(sb: Sandbox, repo: string, config: Record<string, unknown>): Promise<void> {
  const r = await cli(sb, repo, ['init']);
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  mkdirSync(join(repo, STATE_DIR), { recursive: true });
  writeFileSync(join(repo, STATE_DIR, 'config.json'), JSON.stringify(config, null, 2));
}

export function cli(sb: Sandbox, repo: string, args: string[], env: NodeJS.ProcessEnv = sb.env): Promise<CliResult> {
  return runCli(args, { cwd: repo, env, timeoutMs: 50_000 });
}

export function sh(sb: Sandbox, cwd: string, args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('git', args, { cwd, env: sb.env, encoding: 'utf8', input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function commitAll(sb: Sandbox, repo: string, message: string): void {
  sb.git(repo, 'add', '-A');
  sb.git(repo, 'commit', '-q', '-m', message);
}

/** `path\0blob` listing of a tree (bare or not), sorted by git. */
export function lsTree(sb: Sandbox, repo: string, rev: string): Map<string, string> {
  const out = sb.git(repo, 'ls-tree', '-r', '-z', '--full-tree', rev);
  const map = new Map<string, string>();
  for (const rec of out.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    map.set(rec.slice(tab + 1), rec.slice(0, tab).split(' ')[2]!);
  }
  return map;
}

export function blob(sb: Sandbox, repo: string, sha: string): Buffer {
  const r = spawnSync('git', ['cat-file', 'blob', sha], { cwd: repo, env: sb.env });
  return r.stdout;
}

const MARKER_ADDED = /^\+(?:<{7}|>{7})(?: |$)|^\+={7}$/m;

/** Fails if any commit reachable from any ref adds a conflict-marker line. */
export function assertNoMarkersInHistory(sb: Sandbox, repo: string): void {
  const log = sb.git(repo, 'log', '-p', '--all', '--format=commit %H', '--no-color', '--text');
  const m = MARKER_ADDED.exec(log);
  if (m) throw new Error(`conflict marker committed in ${repo}: ${log.slice(Math.max(0, m.index - 400), m.index + 100)}`);
}

/** Every file of the work tree (not .git, not the state dir), with a content hash. */
export function worktreeSnapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === '.git' || r === STATE_DIR) continue;
      const abs = join(dir, name);
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(abs, r);
      else if (st.isSymbolicLink()) out.set(r, `link:${readlinkSync(abs)}`);
      else out.set(r, `${st.mode & 0o777}:${createHash('sha256').update(readFileSync(abs)).digest('hex')}`);
    }
  };
  walk(root, '');
  return out;
}

/** All files under a directory with their contents (for .git/rebase-merge). */
export function dirSnapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (lstatSync(abs).isDirectory()) walk(abs, r);
      else out.set(r, readFileSync(abs).toString('base64'));
    }
  };
  walk(root, '');
  return out;
}

export async function statusJson(
  sb: Sandbox,
  repo: string,
): Promise<{ breaker: { state: string; failures: number; open_until: string | null }; conflicts: { open: number }; active: unknown }> {
  const r = await cli(sb, repo, ['status', '--json']);
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export interface ConflictLine {
  path: string;
  policy: string;
  outcome: string;
  copy_path: string | null;
  kind: string;
  device: string;
  op: string;
}

export function conflictLog(repo: string): ConflictLine[] {
  let text = '';
  try {
    text = readFileSync(join(repo, STATE_DIR, 'conflicts.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ConflictLine)
    .filter((r) => 'path' in r);
}
