/**
 * Real chokidar on real temp repositories (slow-ish: each test takes one to three
 * seconds). Conditions are polled with a deadline; the only fixed waits assert that
 * nothing more happens, and they are a few quiet periods long.
 */
import { Dirent, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { watch } from 'chokidar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../test/helpers/sandbox.mjs';
import { makeTestRepo } from './test-repo.js';
import { runWatch, startWatcher, watchDirectories, type RunningWatcher, type WatcherDeps, type WatcherOptions } from './watcher.js';

const DEBOUNCE_MS = 300;
/** Long enough for a stray second fire to show up: several quiet periods. */
const NOTHING_MORE_MS = 5 * DEBOUNCE_MS;

/** A throwaway repo with one commit, its own HOME and no system config; never the project itself. */
function makeRepo() {
  const repo = makeTestRepo('sc-watch-');
  repo.write('README.md', '# test\n');
  repo.write('.gitignore', 'node_modules/\n*.log\ndist/\n');
  repo.git('add', '-A');
  repo.git('commit', '-q', '-m', 'initial');
  const commitAll = () => {
    repo.git('add', '-A');
    repo.git('commit', '-q', '-m', 'sync');
  };
  return { ...repo, commitAll };
}

type Repo = ReturnType<typeof makeRepo>;
type QuietInfo = Parameters<WatcherOptions['onQuiet']>[0];
interface LogLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let repo: Repo;
let running: RunningWatcher[] = [];
let calls: QuietInfo[];
let logs: LogLine[];

function logger() {
  const at = (level: string) => (obj: object, msg?: string) => void logs.push({ level, obj, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function start(over: Partial<WatcherOptions> = {}, deps: WatcherDeps = {}): Promise<RunningWatcher> {
  const w = startWatcher(
    {
      root: repo.root,
      stateDirRel: '.claude/sync-coordination',
      debounceMs: DEBOUNCE_MS,
      maxWaitMs: 10_000,
      ignore: [],
      logger: logger(),
      onQuiet: (info) => void calls.push(info),
      ...over,
    },
    { env: repo.env, ...deps },
  );
  running.push(w);
  await w.ready;
  return w;
}

beforeEach(() => {
  repo = makeRepo();
  calls = [];
  logs = [];
});

afterEach(async () => {
  await Promise.all(running.map((w) => w.close()));
  running = [];
  repo.cleanup();
});

describe('startWatcher (real chokidar, real git)', () => {
  it('turns 1000 writes across 200 files into one onQuiet', async () => {
    // The 200 files are tracked before the watcher starts: the burst is 1000 plain writes.
    for (let i = 0; i < 200; i++) repo.write(`d${i % 10}/f${i}.txt`, 'initial\n');
    repo.commitAll();
    const w = await start();
    expect(w.state()).toMatchObject({ mode: 'native', watching: true, pending: 0, lastEventAt: null, error: null });
    for (let i = 0; i < 1000; i++) repo.write(`d${i % 10}/f${i % 200}.txt`, `write ${i}\n`);
    await waitFor(() => calls.length >= 1, { what: 'onQuiet', timeoutMs: 10_000 });
    await sleep(NOTHING_MORE_MS);
    expect(calls).toHaveLength(1);
    const first = calls[0]!;
    expect(first.changes).toBeGreaterThan(0);
    expect(first.paths.every((p) => /^d\d\/f\d+\.txt$/.test(p))).toBe(true);
    expect(first.lastAt).toBeGreaterThanOrEqual(first.firstAt);
    expect(w.state().lastFireAt).not.toBeNull();
  });

  it('ignores .git, the state dir, git-ignored paths (old and new) and watch.ignore globs', async () => {
    repo.write('node_modules/pkg/index.js');
    const w = await start({ ignore: ['drafts/**'] });
    repo.write('node_modules/pkg/index.js', 'changed\n');
    repo.write('node_modules/other/new.js');
    repo.write('app.log'); // new file, only git check-ignore knows
    repo.write('dist/bundle.js'); // new directory git ignores
    repo.write('dist/nested/chunk.js');
    repo.write('.claude/sync-coordination/queue/r.json'); // not even in info/exclude here
    repo.write('.git/sync-test-file');
    repo.write('sub/.git'); // a worktree-style .git file
    repo.write('drafts/idea.md');
    await sleep(NOTHING_MORE_MS);
    expect(calls).toEqual([]);
    // Not merely saved by the final git status check: no quiet period even began.
    expect(logs.filter((l) => l.msg?.includes('changes settled'))).toEqual([]);
    expect(w.state().pending).toBe(0);
    // The watcher was live all along: a real change now fires, and carries only itself.
    repo.write('real.txt');
    await waitFor(() => calls.length === 1, { what: 'onQuiet for real.txt', timeoutMs: 10_000 });
    expect(calls[0]!.paths).toEqual(['real.txt']);
    expect(w.state().error).toBeNull();
  });

  it('sees a file in a brand-new nested directory, an edit of an existing file, and a deletion (directory watches only)', async () => {
    const w = await start();
    expect(w.state().mode).toBe('native');
    repo.write('a/b/c/deep.txt', 'deep\n');
    await waitFor(() => calls.length === 1, { what: 'onQuiet for the new nested file', timeoutMs: 10_000 });
    expect(calls[0]!.paths).toContain('a/b/c/deep.txt');
    repo.commitAll();
    repo.write('README.md', '# edited\n');
    await waitFor(() => calls.length === 2, { what: 'onQuiet for the edit', timeoutMs: 10_000 });
    expect(calls[1]!.paths).toContain('README.md');
    repo.commitAll();
    rmSync(join(repo.root, 'a'), { recursive: true });
    await waitFor(() => calls.length === 3, { what: 'onQuiet for the deletion', timeoutMs: 10_000 });
  });

  it('counts an atomic save (temp file renamed over the target) as one change', async () => {
    repo.write('name.txt', 'v1\n');
    repo.commitAll();
    await start();
    writeFileSync(join(repo.root, '.name.txt.tmp'), 'v2\n');
    renameSync(join(repo.root, '.name.txt.tmp'), join(repo.root, 'name.txt'));
    await waitFor(() => calls.length === 1, { what: 'onQuiet', timeoutMs: 10_000 });
    await sleep(NOTHING_MORE_MS);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.paths).toContain('name.txt');
  });

  it("does not re-trigger on its own sync's commit or checkout", async () => {
    repo.git('checkout', '-q', '-b', 'other');
    repo.write('README.md', '# changed on other\n');
    repo.write('other-only.txt');
    repo.commitAll();
    repo.git('checkout', '-q', 'main');
    const w = await start({
      onQuiet: (info) => {
        calls.push(info);
        repo.commitAll();
      },
    });
    repo.write('a.txt');
    repo.write('b/c.txt');
    await waitFor(() => calls.length === 1, { what: 'onQuiet', timeoutMs: 10_000 });
    await sleep(NOTHING_MORE_MS);
    expect(calls).toHaveLength(1);
    expect(repo.git('status', '--porcelain')).toBe('');
    // A checkout rewrites worktree files (as a rebase would) but leaves the tree clean.
    const before = w.state().lastEventAt;
    repo.git('checkout', '-q', 'other');
    await waitFor(() => w.state().lastEventAt !== before, { what: 'checkout events to arrive', timeoutMs: 10_000 });
    await sleep(NOTHING_MORE_MS);
    expect(calls).toHaveLength(1);
  });

  it('watches a directory again once .gitignore stops ignoring it', async () => {
    repo.write('.gitignore', 'gen/\n');
    repo.commitAll();
    repo.write('gen/a.txt', 'v1\n');
    await start({
      onQuiet: (info) => {
        calls.push(info);
        repo.commitAll();
      },
    });
    repo.write('gen/a.txt', 'v2\n');
    await sleep(NOTHING_MORE_MS);
    expect(calls).toHaveLength(0);
    repo.write('.gitignore', '# nothing ignored\n');
    await waitFor(() => calls.length === 1, { what: 'onQuiet for .gitignore', timeoutMs: 10_000 });
    expect(repo.git('ls-files', 'gen')).toBe('gen/a.txt\n');
    repo.write('gen/a.txt', 'v3\n');
    await waitFor(() => calls.length === 2, { what: 'onQuiet for gen/a.txt', timeoutMs: 10_000 });
    expect(calls[1]!.paths).toEqual(['gen/a.txt']);
  });

  it('works with usePolling', async () => {
    const w = await start({ usePolling: true });
    expect(w.state().mode).toBe('polling');
    repo.write('polled.txt');
    await waitFor(() => calls.length === 1, { what: 'onQuiet', timeoutMs: 10_000 });
    expect(calls[0]!.paths).toEqual(['polled.txt']);
  });

  it('falls back to git status polling on ENOSPC with one clear warning, and keeps triggering', async () => {
    let native: ReturnType<typeof watch> | undefined;
    const w = await start({}, { watch: (root, options) => (native = watch(root, options)) });
    const enospc = () => Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC', errno: -28 });
    native!.emit('error', enospc());
    native!.emit('error', enospc());
    expect(w.state()).toMatchObject({ mode: 'git-status', watching: true });
    expect(w.state().error).toMatch(/ENOSPC/);
    const warnings = logs.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('echo fs.inotify.max_user_watches=524288 | sudo tee -a /etc/sysctl.conf && sudo sysctl -p');
    await waitFor(() => native!.closed, { what: 'native watcher closed', timeoutMs: 10_000 });
    repo.write('while-polling.txt');
    await waitFor(() => calls.length === 1, { what: 'onQuiet from git status polling', timeoutMs: 15_000 });
    expect(calls[0]!.paths).toEqual(['while-polling.txt']);
    // A poll that finds the same dirty tree fires nothing; an edit to the already-dirty
    // file (same status line) is noticed by its size/mtime.
    await sleep(2500);
    expect(calls).toHaveLength(1);
    repo.write('while-polling.txt', 'second edit, longer\n');
    await waitFor(() => calls.length === 2, { what: 'second onQuiet from polling', timeoutMs: 15_000 });
  }, 30_000);

  it('survives a repository git cannot read: reports it and still passes changes on', async () => {
    rmSync(join(repo.root, '.git'), { recursive: true, force: true });
    const w = await start();
    expect(w.state()).toMatchObject({ mode: 'native', watching: true });
    expect(w.state().error).toMatch(/git-ignored/);
    repo.write('x.txt');
    await waitFor(() => calls.length === 1, { what: 'onQuiet despite the failing git status', timeoutMs: 10_000 });
    expect(calls[0]!.paths).toEqual(['x.txt']);
    expect(w.state().error).toMatch(/git status failed/);
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('close() stops everything and can be called twice', async () => {
    const w = await start();
    await Promise.all([w.close(), w.close()]);
    expect(w.state().watching).toBe(false);
    repo.write('after-close.txt');
    await sleep(NOTHING_MORE_MS);
    expect(calls).toEqual([]);
  });
});

describe('runWatch', () => {
  it('logs "watching <root>", then closes and resolves when the signal aborts', async () => {
    const ac = new AbortController();
    let settled = false;
    const done = runWatch(
      {
        root: repo.root,
        stateDirRel: '.claude/sync-coordination',
        debounceMs: DEBOUNCE_MS,
        maxWaitMs: 10_000,
        ignore: [],
        logger: logger(),
        onQuiet: (i) => void calls.push(i),
        signal: ac.signal,
      },
      { env: repo.env },
    ).then(() => (settled = true));
    await waitFor(() => logs.some((l) => l.msg === `watching ${repo.root}`), { what: 'the start line', timeoutMs: 10_000 });
    await waitFor(() => logs.some((l) => l.msg === 'watcher: initial scan done'), { what: 'the initial scan', timeoutMs: 10_000 });
    repo.write('x.txt');
    await waitFor(() => calls.length === 1, { what: 'onQuiet', timeoutMs: 10_000 });
    expect(settled).toBe(false);
    ac.abort();
    await done;
    expect(logs.some((l) => l.msg === 'watcher stopped')).toBe(true);
  });

  it('returns at once when the signal is already aborted', async () => {
    await runWatch({
      root: repo.root,
      stateDirRel: '.claude/sync-coordination',
      debounceMs: DEBOUNCE_MS,
      maxWaitMs: 10_000,
      ignore: [],
      logger: logger(),
      onQuiet: () => {},
      signal: AbortSignal.abort(),
    });
    expect(logs).toEqual([]);
  });
});

describe('watchDirectories', () => {
  it('lists directories with readdir file types: no stat per file, symlinks not entered', async () => {
    repo.write('a/b.txt');
    repo.write('a/deeper/c.txt');
    symlinkSync(join(repo.root, 'a'), join(repo.root, 'link'));
    const seen = new Map<string, unknown>();
    const w = watchDirectories(repo.root, {
      ignoreInitial: true,
      followSymlinks: false,
      ignored: (path, stats) => {
        if (stats !== undefined) seen.set(path.slice(repo.root.length + 1), stats);
        return path.includes('/.git') || (stats !== undefined && !stats.isDirectory());
      },
    });
    try {
      await new Promise<void>((r) => w.once('ready', () => r()));
      for (const file of ['README.md', 'a/b.txt', 'a/deeper/c.txt', 'link']) expect(seen.get(file), file).toBeInstanceOf(Dirent);
      const inside = Object.keys(w.getWatched()).filter((d) => d === repo.root || d.startsWith(`${repo.root}/`));
      expect(inside.map((d) => d.slice(repo.root.length)).sort()).toEqual(['', '/a', '/a/deeper']);
    } finally {
      await w.close();
    }
  });
});
