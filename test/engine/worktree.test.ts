/**
 * Integration happens off the work tree (issue "Integrate off the work tree", invariants
 * 4, 5, 13-15): the user's files, index and branch move once, at the end, and never to
 * anything older than what the user saved. A fake `git` first on PATH (the first `git`
 * on PATH is the one that runs) stops once at a chosen command, so a test can act in
 * exactly that window (save a file, switch branches, kill the sync) and then let it go.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { assertNoMarkersInHistory, blob, cli, commitAll, conflictLog, lsTree, setupDevice, STATE_DIR, statusJson, testConfig } from './engine-helpers.js';

const MARKER = /^(<{7}|>{7})( |$)|^={7}$/m;

/** A `git` that stops once before running a command whose argv contains `match`, until `<dir>/go` exists. */
function gate(dir: string, match: string): { env: (env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv; ready: string; go: string; pidFile: string } {
  const bin = join(dir, 'gatebin');
  mkdirSync(bin, { recursive: true });
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const ready = join(dir, 'gate-ready');
  const go = join(dir, 'gate-go');
  const pidFile = join(dir, 'gate.pid');
  const script = `#!/bin/sh
case " $* " in
  *' ${match} '*)
    if [ ! -e '${dir}/gate-used' ]; then
      : > '${dir}/gate-used'
      echo $$ > '${pidFile}'
      : > '${ready}'
      while [ ! -e '${go}' ]; do sleep 0.05; done
    fi ;;
esac
exec '${real}' "$@"
`;
  writeFileSync(join(bin, 'git'), script);
  chmodSync(join(bin, 'git'), 0o755);
  return { env: (env) => ({ ...env, PATH: `${bin}:${env.PATH}` }), ready, go, pidFile };
}

/** Every file of the work tree (not .git), read as a watcher or an editor would. */
function filesWithMarkers(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === '.git') continue;
      const abs = join(dir, name);
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(abs);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(abs, r);
      else if (MARKER.test(readFileSync(abs, 'utf8'))) found.push(r);
    }
  };
  walk(root, '');
  return found;
}

describe('integration off the work tree', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeEach(async () => {
    sb = makeSandbox('sc-engine-worktree-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(a, 'notes.txt'), 'one\ntwo\nthree\n');
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
    b = sb.clone('b');
    await setupDevice(sb, b, testConfig('devB'));
  });
  afterEach(() => sb?.cleanup());

  /** Device B pushes a conflicting edit of notes.txt; device A edits the same line. */
  async function conflictingEdits(): Promise<void> {
    writeFileSync(join(b, 'notes.txt'), 'one\ntwo by B\nthree\n');
    expect((await cli(sb, b, ['sync-now'])).code).toBe(0);
    writeFileSync(join(a, 'notes.txt'), 'one\ntwo by A\nthree\n');
  }

  it('a save made while its path is in conflict is never overwritten and reaches the remote; no marker is ever in the work tree', async () => {
    await conflictingEdits();
    const g = gate(sb.dir, 'read-tree -m -u');
    const child = startCli(['sync-now'], { cwd: a, env: g.env(sb.env) });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    await waitFor(() => existsSync(g.ready), { timeoutMs: 30_000, what: 'the sync to reach the move' });
    // The conflict is resolved in the object store: the work tree never holds a marker.
    expect(filesWithMarkers(a)).toEqual([]);
    // The user saves the conflicted file (and another) in the window.
    writeFileSync(join(a, 'notes.txt'), 'one\ntwo by A, saved during the sync\nthree\n');
    writeFileSync(join(a, 'other.txt'), 'new during the sync\n');
    writeFileSync(g.go, '');
    expect(await done, stderr).toBe(0);
    expect(filesWithMarkers(a)).toEqual([]);
    // The save was never overwritten: git refused to move that file, and the sync went
    // again to commit it. It conflicts with B's edit like any local edit, so the policy
    // keeps it beside B's text as a conflict copy, in the work tree and on the remote.
    const saved = 'one\ntwo by A, saved during the sync\nthree\n';
    const log = readFileSync(join(a, STATE_DIR, 'coordinator.log'), 'utf8');
    expect(log).toMatch(/a file changed while the sync ran; nothing was overwritten/);
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    const tree = lsTree(sb, sb.remote, 'main');
    const onRemote = [...tree.entries()].filter(([p]) => p.startsWith('notes')).map(([p, sha]) => ({ p, text: blob(sb, sb.remote, sha).toString() }));
    const copyOfSave = onRemote.find((f) => f.text === saved);
    expect(copyOfSave, JSON.stringify(onRemote)).toBeTruthy();
    expect(readFileSync(join(a, copyOfSave!.p), 'utf8')).toBe(saved);
    expect(blob(sb, sb.remote, tree.get('other.txt')!).toString()).toBe('new during the sync\n');
    expect(sb.git(sb.remote, 'log', '-p', '--format=', 'main', '--', 'notes.txt')).toContain('+two by B');
    assertNoMarkersInHistory(sb, sb.remote);
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
  });

  it('during a conflicted sync a watcher reading every file never sees a conflict marker', async () => {
    await conflictingEdits();
    const g = gate(sb.dir, 'merge-file');
    const child = startCli(['sync-now'], { cwd: a, env: g.env(sb.env) });
    const done = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    const seen: string[] = [];
    let stop = false;
    const watcher = (async () => {
      while (!stop) {
        seen.push(...filesWithMarkers(a));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor(() => existsSync(g.ready), { timeoutMs: 30_000, what: 'the sync to merge the conflicting file' });
    writeFileSync(g.go, '');
    expect(await done).toBe(0);
    stop = true;
    await watcher;
    expect(seen).toEqual([]);
    // The conflict ended as a copy: the remote's text at the path, A's beside it.
    const copy = conflictLog(a).find((c) => c.path === 'notes.txt')?.copy_path;
    expect(copy).toBeTruthy();
    expect(readFileSync(join(a, 'notes.txt'), 'utf8')).toBe('one\ntwo by B\nthree\n');
    expect(readFileSync(join(a, copy!), 'utf8')).toBe('one\ntwo by A\nthree\n');
  });

  it('a marker line the user typed into a file with no conflict stays and is committed as their content', async () => {
    writeFileSync(join(b, 'elsewhere.txt'), 'b\n');
    expect((await cli(sb, b, ['sync-now'])).code).toBe(0);
    const typed = 'one\n<<<<<<< HEAD\nthe user really wrote this\n=======\nthree\n';
    writeFileSync(join(a, 'notes.txt'), typed);
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(a, 'notes.txt'), 'utf8')).toBe(typed);
    const tree = lsTree(sb, sb.remote, 'main');
    expect(blob(sb, sb.remote, tree.get('notes.txt')!).toString()).toBe(typed);
    expect(tree.has('elsewhere.txt')).toBe(true);
  });

  it('a branch switch during the fetch: no other branch is rewritten or pushed, nothing of the user is lost', async () => {
    writeFileSync(join(b, 'from-b.txt'), 'b\n');
    expect((await cli(sb, b, ['sync-now'])).code).toBe(0);
    const mainBefore = sb.git(a, 'rev-parse', 'main').trim();
    const remoteBefore = sb.git(sb.remote, 'rev-parse', 'main').trim();
    writeFileSync(join(a, 'notes.txt'), 'one\ntwo by A\nthree\n');
    const g = gate(sb.dir, 'fetch');
    const child = startCli(['sync-now'], { cwd: a, env: g.env(sb.env) });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    await waitFor(() => existsSync(g.ready), { timeoutMs: 30_000, what: 'the sync to fetch' });
    sb.git(a, 'switch', '-q', '-c', 'other');
    writeFileSync(g.go, '');
    expect(await done).toBe(1);
    expect(stderr).toMatch(/left branch "main"/);
    // Neither branch moved, the remote has only B's work, the edit is in the work tree.
    expect(sb.git(a, 'rev-parse', 'main').trim()).toBe(mainBefore);
    expect(sb.git(a, 'rev-parse', 'other').trim()).toBe(mainBefore);
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(remoteBefore);
    expect(sb.git(sb.remote, 'for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe('refs/heads/main\n');
    expect(readFileSync(join(a, 'notes.txt'), 'utf8')).toBe('one\ntwo by A\nthree\n');
    expect(sb.git(a, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/other');
  });

  it('a branch switch during the push: only the commit built on the synced branch is pushed, to that branch; the other branch is untouched', async () => {
    writeFileSync(join(a, 'notes.txt'), 'one\ntwo by A\nthree\n');
    const mainBefore = sb.git(a, 'rev-parse', 'main').trim();
    const g = gate(sb.dir, 'push');
    const child = startCli(['sync-now'], { cwd: a, env: g.env(sb.env) });
    const done = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    await waitFor(() => existsSync(g.ready), { timeoutMs: 30_000, what: 'the sync to push' });
    sb.git(a, 'switch', '-q', '-c', 'other');
    writeFileSync(join(a, 'on-other.txt'), 'work on the other branch\n');
    writeFileSync(g.go, '');
    await done;
    expect(sb.git(a, 'rev-parse', 'other').trim()).toBe(mainBefore);
    expect(sb.git(sb.remote, 'for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe('refs/heads/main\n');
    const tree = lsTree(sb, sb.remote, 'main');
    expect(tree.has('on-other.txt')).toBe(false);
    // What reached main is main's content: the edit made on main.
    expect(blob(sb, sb.remote, tree.get('notes.txt')!).toString()).toBe('one\ntwo by A\nthree\n');
    expect(existsSync(join(a, 'on-other.txt'))).toBe(true);
  });

  it('kill -9 in the middle of the move: the next run leaves no lock, no operation in progress, and loses nothing', async () => {
    await conflictingEdits();
    writeFileSync(join(a, 'new.txt'), 'new before the crash\n');
    const g = gate(sb.dir, 'read-tree -m -u');
    const child = startCli(['sync-now'], { cwd: a, env: g.env(sb.env) });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    await waitFor(() => existsSync(g.ready), { timeoutMs: 30_000, what: 'the sync to reach the move' });
    expect(existsSync(join(a, '.git', 'index.lock'))).toBe(true); // the move holds git's index lock
    child.kill('SIGKILL');
    try {
      process.kill(-Number(readFileSync(g.pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* gone */
    }
    await exited;
    writeFileSync(join(a, 'later.txt'), 'saved while the sync lay dead\n');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(a, '.git', 'index.lock'))).toBe(false);
    for (const f of ['rebase-merge', 'rebase-apply', 'MERGE_HEAD', 'CHERRY_PICK_HEAD']) expect(existsSync(join(a, '.git', f))).toBe(false);
    expect((await statusJson(sb, a)).active).toBeNull();
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
    const tree = lsTree(sb, sb.remote, 'main');
    const text = (p: string) => blob(sb, sb.remote, tree.get(p)!).toString();
    expect(text('new.txt')).toBe('new before the crash\n');
    expect(text('later.txt')).toBe('saved while the sync lay dead\n');
    const both = [...tree.keys()]
      .filter((p) => p.startsWith('notes'))
      .map(text)
      .join('');
    expect(both).toContain('two by A');
    expect(both).toContain('two by B');
    assertNoMarkersInHistory(sb, sb.remote);
    expect(readdirSync(join(a, '.git', 'sync-coordinator')).filter((n) => n.startsWith('index-'))).toEqual([]);
  });

  it('kill -9 after a push-first sync pushed its commit but before the branch moved: a file deleted meanwhile stays deleted', async () => {
    writeFileSync(join(a, 'added.txt'), 'added by the killed sync\n');
    const g = gate(sb.dir, 'update-ref -m');
    const child = startCli(['sync-now'], { cwd: a, env: g.env(sb.env) });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    await waitFor(() => existsSync(g.ready), { timeoutMs: 30_000, what: 'the move to update the branch' });
    expect(lsTree(sb, sb.remote, 'main').has('added.txt')).toBe(true); // already pushed
    child.kill('SIGKILL');
    try {
      process.kill(-Number(readFileSync(g.pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* gone */
    }
    await exited;
    // While the sync lies dead the user deletes the file it had committed and pushed.
    rmSync(join(a, 'added.txt'));
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    expect(lsTree(sb, sb.remote, 'main').has('added.txt')).toBe(false);
    expect(existsSync(join(a, 'added.txt'))).toBe(false);
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
  });

  it('a 200 KB file rewritten in place in a loop during 20 syncs: no sync wedges, index.lock never outlives a sync, the last save reaches the remote', async () => {
    // Retries as a real config has them (the default is 4): git refusing a file that
    // changes under it, or dying of SIGBUS on it, is transient and retried.
    writeFileSync(join(a, STATE_DIR, 'config.json'), JSON.stringify(testConfig('devA', { retries: { default: 6, min_delay_ms: 20, max_delay_ms: 100 } })));
    const file = join(a, 'big.txt');
    let n = 0;
    const body = (i: number) => `${'x'.repeat(200 * 1024)}\nsave ${i}\n`;
    let stop = false;
    const editor = (async () => {
      while (!stop) {
        writeFileSync(file, body(++n)); // truncate + write, as editors that save in place do
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await cli(sb, a, ['sync-now']);
      if (r.code !== 0) failures.push(r.stderr.trim().split('\n').pop() ?? '');
      expect(existsSync(join(a, '.git', 'index.lock'))).toBe(false);
    }
    stop = true;
    await editor;
    const last = body(n);
    const final = await cli(sb, a, ['sync-now']);
    expect(final.code, final.stderr).toBe(0);
    // A save racing a sync may cost that sync (git refuses to read a file that changes
    // under it); it never wedges the next one.
    expect(failures.length, failures.join('\n')).toBeLessThan(10);
    for (const f of failures) expect(f).not.toMatch(/another git process|index\.lock/);
    expect(blob(sb, sb.remote, lsTree(sb, sb.remote, 'main').get('big.txt')!).toString()).toBe(last);
    expect(readFileSync(join(a, STATE_DIR, 'coordinator.log'), 'utf8')).not.toMatch(
      /another git process holds a lock.*\n.*another git process holds a lock.*\n.*another git process holds a lock/,
    );
  });
});
