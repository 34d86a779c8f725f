/**
 * Crash recovery of the engine that integrates off the work tree (src/git/move.ts,
 * recovery.ts): a sync builds its commit in private indexes and moves the user's files,
 * index and branch once, at the end, under git's own `.git/index.lock`:
 * `read-tree -m -u <what the work tree holds> <target>` writes the files, then a
 * compare-and-swap `update-ref` moves the branch, then the new index replaces the user's.
 *
 * A git in front of the real one kill -9s the CLI (its parent) right after one of those
 * steps finished, deterministically:
 * - after `update-ref`: the branch moved, the user's index did not, and `.git/index.lock`
 *   (held by the dead sync) stays. The next run removes the lock and completes the
 *   user's index from the recovery marker (`active.moving`); files are not touched.
 * - after `read-tree -m -u`: the files are the target's, the branch and index are not.
 *   The next sync commits what it finds and its three-way merge finds those changes
 *   already on the remote: nothing of the other device is reverted on the remote, no
 *   delete is undone, and the local edit arrives.
 * Either way a conflict copy the killed sync made is named in conflicts.log (DESIGN.md
 * section 5: "logged in conflicts.log; status and conflicts show it").
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { chaosConfig } from './harness/world.js';

const STATE = '.claude/sync-coordination';

/** A git in front of the real one: after the git whose arguments match `pattern` (a `case " $* " in` pattern) finished, kill -9 its parent (the CLI), once. */
function killAfter(dir: string, pattern: string): string {
  const bin = join(dir, 'kill-bin');
  mkdirSync(bin, { recursive: true });
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh
real='${real}'
case " $* " in ${pattern})
  [ -e '${dir}/killed' ] && exec "$real" "$@"
  : > '${dir}/killed'
  "$real" "$@"; rc=$?
  kill -9 $PPID
  exit $rc ;;
esac
exec "$real" "$@"
`,
  );
  chmodSync(join(bin, 'git'), 0o755);
  return bin;
}

/** The move's branch update (backup refs use another message). */
const MOVE_UPDATE_REF = `*" update-ref -m sync-coordinator: "*`;
/** The move's two-way read-tree that writes the files (the object-store merge has no -u). */
const MOVE_READ_TREE = `*" read-tree -m -u "*`;

interface Scenario {
  sb: Sandbox;
  a: string;
  b: string;
  base: string;
  cli: (args: string[], env?: NodeJS.ProcessEnv) => Promise<CliResult>;
}

/**
 * Clone `a` with a local edit (and, with `conflict`, an edit of the line device b also
 * changed); device b has pushed: a new file, a change of shared.txt, a deleted file.
 */
function scenario(prefix: string, conflict: boolean): Scenario {
  const sb = makeSandbox(prefix);
  const a = sb.clone('a');
  const cli = (args: string[], env = sb.env) => runCli(args, { cwd: a, env, timeoutMs: 60_000 });
  writeFileSync(join(a, 'notes.txt'), 'base\n');
  writeFileSync(join(a, 'shared.txt'), 'line 1\nline 2\nline 3\n');
  writeFileSync(join(a, 'gone.txt'), 'device b deletes this\n');
  sb.git(a, 'add', '-A');
  sb.git(a, 'commit', '-q', '-m', 'base');
  sb.git(a, 'push', '-q', 'origin', 'main');
  const base = sb.git(a, 'rev-parse', 'HEAD').trim();
  const b = sb.clone('b');
  writeFileSync(join(b, 'b.txt'), 'from b\n');
  writeFileSync(join(b, 'shared.txt'), 'line 1 by b\nline 2\nline 3\n');
  sb.git(b, 'rm', '-q', 'gone.txt');
  sb.git(b, 'add', '-A');
  sb.git(b, 'commit', '-q', '-m', 'b');
  sb.git(b, 'push', '-q', 'origin', 'main');
  writeFileSync(join(a, 'notes.txt'), 'edit of a\n');
  if (conflict) writeFileSync(join(a, 'shared.txt'), 'line 1 by a\nline 2\nline 3\n');
  return { sb, a, b, base, cli };
}

async function init(s: Scenario): Promise<void> {
  expect((await s.cli(['init'])).code).toBe(0);
  writeFileSync(join(s.a, STATE, 'config.json'), JSON.stringify({ ...chaosConfig('a'), pull_interval_s: 0 }));
}

function remoteFiles(sb: Sandbox): Map<string, string> {
  const files = sb.git(sb.remote, 'ls-tree', '-r', '--name-only', '-z', 'main').split('\0').filter(Boolean);
  return new Map(files.map((p) => [p, sb.git(sb.remote, 'show', `main:${p}`)]));
}

function privateFiles(a: string): string[] {
  try {
    return readdirSync(join(a, '.git', 'sync-coordinator')).filter((n) => /^(index|msg|merge)-/.test(n));
  } catch {
    return [];
  }
}

function loggedCopies(a: string): string[] {
  let text = '';
  try {
    text = readFileSync(join(a, STATE, 'conflicts.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { outcome?: string; copy_path?: string })
    .filter((r) => r.outcome === 'copy-created' && r.copy_path)
    .map((r) => r.copy_path!);
}

/** After the next sync: the remote has both devices' changes, nothing reverted, nothing left over. */
function expectHealed(s: Scenario, final: CliResult): void {
  const { sb, a } = s;
  expect(final.code, final.stderr).toBe(0);
  expect(sb.git(a, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  expect(sb.git(sb.remote, 'rev-parse', 'main')).toBe(sb.git(a, 'rev-parse', 'HEAD'));
  const files = remoteFiles(sb);
  expect(files.get('notes.txt')).toBe('edit of a\n');
  expect(files.get('b.txt')).toBe('from b\n');
  expect(files.get('shared.txt')).toBe('line 1 by b\nline 2\nline 3\n');
  expect(files.has('gone.txt')).toBe(false);
  // The remote's history is linear: every push fast-forwarded (no force push).
  expect(sb.git(sb.remote, 'rev-list', '--merges', 'main').trim()).toBe('');
  expect(existsSync(join(a, '.git', 'index.lock'))).toBe(false);
  expect(privateFiles(a)).toEqual([]);
  for (const f of ['rebase-merge', 'rebase-apply', 'MERGE_HEAD', 'CHERRY_PICK_HEAD']) expect(existsSync(join(a, '.git', f))).toBe(false);
}

describe('kill -9 right after the move updated the branch (the index still describes the old commit)', () => {
  let s: Scenario;
  let killed: CliResult;
  let final: CliResult;
  let staleIndex = '';
  let lockLeft = false;
  let headAfterKill = '';

  beforeAll(async () => {
    s = scenario('sc-chaos-move-ref-', false);
    await init(s);
    killed = await s.cli(['sync-now'], { ...s.sb.env, PATH: `${killAfter(s.sb.dir, MOVE_UPDATE_REF)}:${s.sb.env.PATH}` });
    headAfterKill = s.sb.git(s.a, 'rev-parse', 'HEAD').trim();
    lockLeft = existsSync(join(s.a, '.git', 'index.lock'));
    staleIndex = s.sb.git(s.a, '--no-optional-locks', 'diff', '--cached', '--name-only', 'HEAD');
    final = await s.cli(['sync-now']);
  });
  afterAll(() => s?.sb.cleanup());

  it('the scenario ran as planned (branch moved to the integrated commit, index behind it, index.lock left)', () => {
    expect(killed.signal).toBe('SIGKILL');
    expect(headAfterKill).not.toBe(s.base);
    expect(s.sb.git(s.a, 'show', `${headAfterKill}:b.txt`)).toBe('from b\n');
    expect(lockLeft).toBe(true);
    expect(staleIndex.split('\n').filter(Boolean).sort()).toEqual(['b.txt', 'gone.txt', 'notes.txt', 'shared.txt']);
  });

  it('the next run removes the lock, completes the index from the marker, and the sync ends clean', () => {
    expectHealed(s, final);
    const log = readFileSync(join(s.a, STATE, 'coordinator.log'), 'utf8');
    expect(log).toMatch(/brought the index up to date \(files untouched\)/);
  });
});

describe('kill -9 right after the move wrote the files (branch and index not moved)', () => {
  let s: Scenario;
  let killed: CliResult;
  let final: CliResult;
  let headAfterKill = '';

  beforeAll(async () => {
    s = scenario('sc-chaos-move-files-', false);
    await init(s);
    killed = await s.cli(['sync-now'], { ...s.sb.env, PATH: `${killAfter(s.sb.dir, MOVE_READ_TREE)}:${s.sb.env.PATH}` });
    headAfterKill = s.sb.git(s.a, 'rev-parse', 'HEAD').trim();
    final = await s.cli(['sync-now']);
  });
  afterAll(() => s?.sb.cleanup());

  it("the scenario ran as planned (the files are the target's, the branch is where it was)", () => {
    expect(killed.signal).toBe('SIGKILL');
    expect(headAfterKill).toBe(s.base);
    expect(readFileSync(join(s.a, 'b.txt'), 'utf8')).toBe('from b\n');
    expect(existsSync(join(s.a, 'gone.txt'))).toBe(false);
  });

  it("the next sync commits them: device b's changes are not reverted, its delete not undone, the local edit arrives", () => {
    expectHealed(s, final);
  });
});

/**
 * The same kill, and the other device moves on before this one syncs again: it deletes
 * the file it had added and rewrites the line it had changed. The files the killed move
 * wrote are the remote's old content, not edits of this device's user: the next sync
 * must not publish them again (that would undo device b's delete and revert its line).
 */
describe('kill -9 right after the move wrote the files, then the other device changes them again', () => {
  let s: Scenario;
  let killed: CliResult;
  let final: CliResult;

  beforeAll(async () => {
    s = scenario('sc-chaos-move-stale-', false);
    await init(s);
    killed = await s.cli(['sync-now'], { ...s.sb.env, PATH: `${killAfter(s.sb.dir, MOVE_READ_TREE)}:${s.sb.env.PATH}` });
    s.sb.git(s.b, 'rm', '-q', 'b.txt');
    writeFileSync(join(s.b, 'shared.txt'), 'line 1 by b, again\nline 2\nline 3\n');
    s.sb.git(s.b, 'add', '-A');
    s.sb.git(s.b, 'commit', '-q', '-m', 'b again');
    s.sb.git(s.b, 'push', '-q', 'origin', 'main');
    final = await s.cli(['sync-now']);
  });
  afterAll(() => s?.sb.cleanup());

  it("device b's later delete and rewrite stand; the local edit arrives; no conflict copy of b's old content", () => {
    expect(killed.signal).toBe('SIGKILL');
    expect(final.code, final.stderr).toBe(0);
    const files = remoteFiles(s.sb);
    expect(files.get('notes.txt')).toBe('edit of a\n');
    expect(files.has('b.txt')).toBe(false);
    expect(files.get('shared.txt')).toBe('line 1 by b, again\nline 2\nline 3\n');
    expect([...files.keys()].filter((p) => p.includes('.sync-conflict-'))).toEqual([]);
    expect(s.sb.git(s.a, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });
});

/**
 * The same, but git was killed halfway through writing the files: some hold the target's
 * content, some still the old one (emulated by putting one file back as it was). The next
 * run finishes the move rather than publishing the half-written files as local edits.
 */
describe('kill -9 halfway through the move writing the files, then the other device changes them again', () => {
  let s: Scenario;
  let killed: CliResult;
  let final: CliResult;

  beforeAll(async () => {
    s = scenario('sc-chaos-move-half-', false);
    await init(s);
    killed = await s.cli(['sync-now'], { ...s.sb.env, PATH: `${killAfter(s.sb.dir, MOVE_READ_TREE)}:${s.sb.env.PATH}` });
    // Half-written: shared.txt not yet rewritten, gone.txt not yet deleted.
    writeFileSync(join(s.a, 'shared.txt'), 'line 1\nline 2\nline 3\n');
    writeFileSync(join(s.a, 'gone.txt'), 'device b deletes this\n');
    s.sb.git(s.b, 'rm', '-q', 'b.txt');
    writeFileSync(join(s.b, 'shared.txt'), 'line 1 by b, again\nline 2\nline 3\n');
    s.sb.git(s.b, 'add', '-A');
    s.sb.git(s.b, 'commit', '-q', '-m', 'b again');
    s.sb.git(s.b, 'push', '-q', 'origin', 'main');
    final = await s.cli(['sync-now']);
  });
  afterAll(() => s?.sb.cleanup());

  it("device b's later delete and rewrite stand, its first delete is not undone, the local edit arrives, no copy", () => {
    expect(killed.signal).toBe('SIGKILL');
    expect(final.code, final.stderr).toBe(0);
    const files = remoteFiles(s.sb);
    expect(files.get('notes.txt')).toBe('edit of a\n');
    expect(files.has('b.txt')).toBe(false);
    expect(files.has('gone.txt')).toBe(false);
    expect(files.get('shared.txt')).toBe('line 1 by b, again\nline 2\nline 3\n');
    expect([...files.keys()].filter((p) => p.includes('.sync-conflict-'))).toEqual([]);
    expect(s.sb.git(s.a, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });
});

describe.each([
  { step: 'the branch update', pattern: MOVE_UPDATE_REF },
  { step: 'the files were written', pattern: MOVE_READ_TREE },
])('kill -9 of a sync that made a conflict copy, right after $step of its move', ({ pattern }) => {
  let s: Scenario;
  let killed: CliResult;
  let final: CliResult;

  beforeAll(async () => {
    s = scenario('sc-chaos-move-copy-', true);
    await init(s);
    killed = await s.cli(['sync-now'], { ...s.sb.env, PATH: `${killAfter(s.sb.dir, pattern)}:${s.sb.env.PATH}` });
    final = await s.cli(['sync-now']);
  });
  afterAll(() => s?.sb.cleanup());

  const copies = () => [...remoteFiles(s.sb).keys()].filter((p) => p.includes('.sync-conflict-'));

  it('the scenario ran as planned (killed in the move; the next sync pushed the copy)', () => {
    expect(killed.signal).toBe('SIGKILL');
    expect(final.code, final.stderr).toBe(0);
    expect(copies()).toHaveLength(1);
    expect(s.sb.git(s.sb.remote, 'show', `main:${copies()[0]}`)).toBe('line 1 by a\nline 2\nline 3\n');
    expect(remoteFiles(s.sb).get('shared.txt')).toBe('line 1 by b\nline 2\nline 3\n');
  });

  it('conflicts.log names the copy and status shows the open conflict', async () => {
    expect(loggedCopies(s.a)).toContain(copies()[0]);
    const st = JSON.parse((await s.cli(['status', '--json'])).stdout) as { conflicts: { open: number } };
    expect(st.conflicts.open).toBe(1);
  });
});
