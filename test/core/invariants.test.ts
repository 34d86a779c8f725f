/**
 * Invariants 3, 4, 8 and 9 seen from outside: what the git children of a sync get
 * (environment, stdin, arguments), how pending requests coalesce, and the git lock
 * files a killed owner leaves behind.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exited, runCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { realGitPath } from '../helpers/git-recorder.js';
import { acquireLock } from '../../src/core/lock.js';
import { statePaths } from '../../src/git/workspace.js';
import { silentLogger } from '../../src/shared/log.js';

const __dirname = dirname(fileURLToPath(import.meta.url));
let sb: Sandbox;
let repo: string;
beforeEach(() => {
  sb = makeSandbox();
  repo = sb.clone('a');
});
afterEach(() => sb.cleanup());

const WATCHED = [
  'CLAUDE_SYNC_ACTIVE',
  'AUTOMATED_SYNC',
  'SYNC_COORDINATOR_OP',
  'GIT_TERMINAL_PROMPT',
  'GCM_INTERACTIVE',
  'LC_ALL',
  'GIT_DIR',
  'GIT_INDEX_FILE',
  'GIT_WORK_TREE',
  'GIT_EDITOR',
  'EDITOR',
  'SECRET_TOKEN',
];

/** A git wrapper that records, per call, its arguments, its stdin and the watched variables. */
function envRecorder(): { binDir: string; calls: () => Array<{ args: string; stdin: string; env: Record<string, string> }> } {
  const binDir = join(sb.dir, 'env-git-bin');
  mkdirSync(binDir);
  // One file per call: calls run in parallel (preflight), so a shared log would interleave.
  const logDir = join(sb.dir, 'env-calls');
  mkdirSync(logDir);
  writeFileSync(
    join(binDir, 'git'),
    `#!/bin/sh
{
  printf 'CALL\\t%s\\n' "$*"
  printf 'STDIN\\t%s\\n' "$(readlink /proc/$$/fd/0 2>/dev/null || echo unknown)"
  env | grep -E '^(${WATCHED.join('|')})=' | sed 's/^/ENV\\t/'
} > '${logDir}'/$(date +%s%N)-$$
exec '${realGitPath()}' "$@"
`,
  );
  chmodSync(join(binDir, 'git'), 0o755);
  return {
    binDir,
    calls() {
      const out: Array<{ args: string; stdin: string; env: Record<string, string> }> = [];
      const lines = readdirSync(logDir)
        .sort()
        .flatMap((f) => readFileSync(join(logDir, f), 'utf8').split('\n'));
      for (const line of lines) {
        const [kind, rest = ''] = line.split('\t');
        if (kind === 'CALL') out.push({ args: rest, stdin: '', env: {} });
        else if (kind === 'STDIN') out[out.length - 1]!.stdin = rest;
        else if (kind === 'ENV') {
          const eq = rest.indexOf('=');
          out[out.length - 1]!.env[rest.slice(0, eq)] = rest.slice(eq + 1);
        }
      }
      return out;
    },
  };
}

describe('invariant 8: no recursion, no prompt', () => {
  it('every git child gets the sanitized environment, closed stdin for the network, and no variable leaked from a hook', async () => {
    const rec = envRecorder();
    const other = sb.clone('other');
    // Another device pushed meanwhile, so this sync talks to the remote for fetch and push.
    const upstream = sb.clone('upstream');
    writeFileSync(join(upstream, 'upstream.txt'), 'from upstream\n');
    sb.git(upstream, 'add', 'upstream.txt');
    sb.git(upstream, 'commit', '-q', '-m', 'upstream work');
    sb.git(upstream, 'push', '-q', 'origin', 'HEAD:main');
    writeFileSync(join(repo, 'note.txt'), 'hello\n');
    const env = {
      ...sb.env,
      PATH: `${rec.binDir}:${sb.env.PATH}`,
      // What a hook would export, pointing at ANOTHER repository, plus secrets and editors.
      GIT_DIR: join(other, '.git'),
      GIT_INDEX_FILE: join(other, '.git', 'index'),
      GIT_WORK_TREE: other,
      GIT_EDITOR: 'vim',
      EDITOR: 'vim',
      SECRET_TOKEN: 'hunter2',
    };
    const r = await runCli(['request-sync', 'manual', 'hook', '--json', '--wait'], { cwd: repo, env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('ok');
    // It synced the repository it was started in, not the one GIT_DIR named.
    expect(sb.git(sb.remote, 'ls-tree', '--name-only', 'main')).toContain('note.txt');
    expect(sb.git(other, 'status', '--porcelain')).toBe('');
    const calls = rec.calls();
    expect(calls.length).toBeGreaterThan(3);
    for (const c of calls) {
      expect(c.env, c.args).toMatchObject({ CLAUDE_SYNC_ACTIVE: '1', AUTOMATED_SYNC: '1', GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never', LC_ALL: 'C' });
      for (const leaked of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_EDITOR', 'EDITOR', 'SECRET_TOKEN'])
        expect(c.env[leaked], `${leaked} in ${c.args}`).toBeUndefined();
      // The sync's own private index (never the hook's, never the user's) is the only GIT_INDEX_FILE.
      const index = c.env.GIT_INDEX_FILE;
      if (index !== undefined)
        expect(index, `GIT_INDEX_FILE in ${c.args}`).toMatch(
          new RegExp(`^${join(repo, '.git', 'sync-coordinator').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/index-`),
        );
    }
    const network = calls.filter((c) => / (fetch|push) /.test(` ${c.args} `));
    expect(network.some((c) => c.args.includes(' fetch ')) && network.some((c) => c.args.includes(' push ')), network.map((c) => c.args).join('; ')).toBe(true);
    for (const c of network) {
      expect(c.stdin).toBe('/dev/null');
      expect(c.env.SYNC_COORDINATOR_OP).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
    }
    // Invariant 4: an explicit refspec, never a force option.
    const pushes = calls.filter((c) => c.args.includes(' push '));
    for (const p of pushes) {
      // Invariant 4: the explicit commit id the sync built, never `HEAD:`.
      expect(p.args).toMatch(/ [0-9a-f]{40}:refs\/heads\/main(?: |$)/);
      expect(p.args).not.toContain('HEAD:');
      expect(p.args).not.toMatch(/--force|-f\b|--mirror|\+HEAD/);
    }
  });

  it('request-sync called from inside a sync (CLAUDE_SYNC_ACTIVE=1) does nothing and exits 0 at once', async () => {
    writeFileSync(join(repo, 'x.txt'), 'x\n');
    const r = await runCli(['request-sync', 'smart', 'nested'], { cwd: repo, env: { ...sb.env, CLAUDE_SYNC_ACTIVE: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    expect(existsSync(join(repo, '.claude'))).toBe(false);
    expect(sb.git(repo, 'status', '--porcelain')).toContain('x.txt');
  });
});

describe('invariant 3: coalescing', () => {
  it('pending requests are served by one sync at the highest priority and the strongest type', async () => {
    writeFileSync(join(repo, 'a.txt'), 'a\n');
    for (const [type, prio] of [
      ['intelligent-auto', 'low'],
      ['smart', 'normal'],
      ['robust', 'low'],
      ['post-merge', 'high'],
      ['manual', 'normal'],
    ]) {
      const r = await runCli(['request-sync', type!, `c-${type}`, prio!, '--enqueue-only'], { cwd: repo, env: sb.env });
      expect(r.code).toBe(0);
    }
    const p = await runCli(['process', '--json'], { cwd: repo, env: sb.env });
    expect(p.code, p.stderr).toBe(0);
    const report = JSON.parse(p.stdout);
    expect(report.batches).toHaveLength(1);
    expect(report.batches[0]).toMatchObject({ type: 'robust', priority: 'high', requests: 5, result: 'ok' });
    const s = JSON.parse((await runCli(['status', '--json'], { cwd: repo, env: sb.env })).stdout);
    expect(s.stats).toMatchObject({ requests: 5, merged: 4, syncs_ok: 1 });
    expect(s.rate_limit.used).toBe(1);
  });
});

describe('invariant 3: requests that arrive during a sync', () => {
  it('one made before the sync read the work tree is served by it; one made after gets its own sync', async () => {
    writeFileSync(join(repo, 'a.txt'), 'a\n');
    await runCli(['init'], { cwd: repo, env: sb.env });
    const queue = join(repo, '.claude/sync-coordination/queue');
    // During the first sync's push, two requests land in the queue: one stamped before
    // the sync started (its writer was slow to rename it in), one stamped now.
    const bin = join(sb.dir, 'inject-bin');
    mkdirSync(bin);
    const old = new Date(Date.now() - 60_000).toISOString();
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh
case " $* " in *" push "*)
  if [ ! -e '${sb.dir}/injected' ]; then
    : > '${sb.dir}/injected'
    printf '{"id":"0000000000001-1-aaaaaaaa","type":"smart","caller":"early","priority":"normal","reason":"","created_at":"${old}","pid":1}\n' > '${queue}/0000000000001-1-aaaaaaaa.json'
    now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
    printf '{"id":"9999999999999-1-bbbbbbbb","type":"smart","caller":"late","priority":"normal","reason":"","created_at":"%s","pid":1}\n' "$now" > '${queue}/9999999999999-1-bbbbbbbb.json'
  fi ;;
esac
exec '${realGitPath()}' "$@"
`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    const r = await runCli(['request-sync', 'smart', 'first', '--json', '--wait'], { cwd: repo, env: { ...sb.env, PATH: `${bin}:${sb.env.PATH}` } });
    expect(r.code, r.stderr).toBe(0);
    const op = JSON.parse(r.stdout);
    expect(op.result).toBe('ok');
    const result = (id: string) => JSON.parse(readFileSync(join(repo, '.claude/sync-coordination/results', `${id}.json`), 'utf8'));
    const early = result('0000000000001-1-aaaaaaaa');
    const late = result('9999999999999-1-bbbbbbbb');
    const first = result(op.id);
    expect(early).toMatchObject({ status: 'merged', op: first.op });
    expect(late.op).not.toBe(first.op);
    const s = JSON.parse((await runCli(['status', '--json'], { cwd: repo, env: sb.env })).stdout);
    expect(s.stats).toMatchObject({ requests: 3, syncs_ok: 2, merged: 1 });
  });
});

describe('invariant 9: git lock files of a dead owner', () => {
  it("after a takeover, lock files left by the dead owner's git are removed; a lock file held by a live git is kept", async () => {
    const paths = statePaths(repo);
    mkdirSync(paths.dir, { recursive: true });
    const repoInfo = { root: repo, gitDir: join(repo, '.git'), commonDir: join(repo, '.git') };
    // A dead owner: a child that took the lock and was SIGKILLed, leaving index.lock.
    const child = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'lock-holder.mjs'), repo, 'victim', '60000', '5000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('acquired'));
    child.kill('SIGKILL');
    await exited(child);
    writeFileSync(join(repo, '.git', 'index.lock'), '');
    writeFileSync(join(repo, '.git', 'HEAD.lock'), '');

    // First with a live git working in the repository: nothing is removed.
    const liveGit = spawn(realGitPath(), ['cat-file', '--batch'], { cwd: repo, env: sb.env, stdio: ['pipe', 'ignore', 'ignore'] });
    const lock = await acquireLock({ paths, logger: silentLogger, staleMs: 2000, repo: repoInfo }, { caller: 'heir', timeoutMs: 5000 });
    expect(existsSync(join(repo, '.git', 'index.lock'))).toBe(true);
    liveGit.stdin!.end();
    await exited(liveGit);
    await lock.release();

    // Again, now with no git alive: a second dead owner's takeover cleans up.
    const child2 = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'lock-holder.mjs'), repo, 'victim2', '60000', '5000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out2 = '';
    child2.stdout!.on('data', (d: Buffer) => (out2 += d.toString()));
    await waitFor(() => out2.includes('acquired'));
    child2.kill('SIGKILL');
    await exited(child2);
    const lock2 = await acquireLock({ paths, logger: silentLogger, staleMs: 2000, repo: repoInfo }, { caller: 'heir2', timeoutMs: 5000 });
    expect(existsSync(join(repo, '.git', 'index.lock'))).toBe(false);
    expect(existsSync(join(repo, '.git', 'HEAD.lock'))).toBe(false);
    await lock2.release();
    // The repository works again.
    writeFileSync(join(repo, 'after.txt'), 'x\n');
    const r = await runCli(['request-sync', 'smart', 'me', '--json', '--wait'], { cwd: repo, env: sb.env });
    expect(JSON.parse(r.stdout).result).toBe('ok');
  });
});
