import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIgnored, listGitIgnored, statusEntries } from './git-queries.js';
import { createReadGit, readOnlyGitEnv, type ReadGit } from './git-read.js';
import { makeTestRepo } from './test-repo.js';
import { compileGlobs, createIgnoreFilter, EMPTY_GIT_IGNORED, isIgnoredPath, toSegments, type IgnoreRules } from '../src/git/ignore.js';

/** A throwaway repo with its own HOME and no system config; never the project itself. */
const makeRepo = () => makeTestRepo('sc-watch-ignore-');

describe('isIgnoredPath (pure)', () => {
  const rules = (over: Partial<IgnoreRules> = {}): IgnoreRules => ({
    stateDir: toSegments('.claude/sync-coordination'),
    globs: [],
    gitIgnored: EMPTY_GIT_IGNORED,
    ...over,
  });
  const ignored = (rel: string, r = rules()) => isIgnoredPath(toSegments(rel), r);

  it('ignores .git at any depth, directory or file, and nothing that merely looks like it', () => {
    for (const p of ['.git', '.git/index', '.git/refs/heads/main', 'sub/.git', 'a/b/.git/HEAD']) expect(ignored(p), p).toBe(true);
    for (const p of ['.github', '.github/workflows/ci.yml', 'a.git', '.gitignore', '.gitattributes', 'sub/.gitmodules']) {
      expect(ignored(p), p).toBe(false);
    }
  });

  it('ignores the state directory and everything under it, only that', () => {
    for (const p of ['.claude/sync-coordination', '.claude/sync-coordination/queue/x.json', '.claude/sync-coordination/coordinator.log']) {
      expect(ignored(p), p).toBe(true);
    }
    for (const p of ['.claude', '.claude/settings.json', '.claude/sync-coordination-notes.md', 'x/.claude/sync-coordination/a']) {
      expect(ignored(p), p).toBe(false);
    }
    // However the caller spells the state dir.
    const r = rules({ stateDir: toSegments('./.claude/sync-coordination/') });
    expect(ignored('.claude/sync-coordination/a', r)).toBe(true);
  });

  it('matches watch.ignore globs against the path relative to the root, ancestors included', () => {
    const r = rules({ globs: compileGlobs(['scratch/**', '**/*.tmp', '.cache']) });
    for (const p of ['scratch', 'scratch/a/b.md', 'x.tmp', 'deep/er/y.tmp', '.cache', '.cache/z']) expect(ignored(p, r), p).toBe(true);
    for (const p of ['scratchy.md', 'notes/scratch', 'a.tmp.md', 'src/.cachex']) expect(ignored(p, r), p).toBe(false);
  });

  it('uses the git snapshot: a listed directory covers its subtree, a listed file only itself', () => {
    const r = rules({ gitIgnored: { dirs: new Set(['node_modules', 'sub/dist']), files: new Set(['x.log']) } });
    for (const p of ['node_modules', 'node_modules/a/b.js', 'sub/dist', 'sub/dist/main.js', 'x.log']) expect(ignored(p, r), p).toBe(true);
    for (const p of ['sub/distx', 'sub', 'y/x.log', 'x.log.md', 'lib/node_modules/a.js']) expect(ignored(p, r), p).toBe(false);
  });

  it('does not ignore node_modules, dist, or conflict copies by name alone', () => {
    for (const p of ['node_modules/a.js', 'dist/x', 'notes.sync-conflict-20260101-120000-laptop.md', 'README.md']) {
      expect(ignored(p), p).toBe(false);
    }
  });

  it('splits on / only: a backslash is part of a POSIX file name', () => {
    expect(toSegments('./a//b/')).toEqual(['a', 'b']);
    expect(ignored('x\\.git')).toBe(false);
  });

  it('never ignores the root itself', () => {
    expect(isIgnoredPath([], rules({ globs: compileGlobs(['**']) }))).toBe(false);
  });
});

describe('createIgnoreFilter', () => {
  const root = '/work/tree';
  const filter = createIgnoreFilter({ root, stateDirRel: '.claude/sync-coordination', globs: ['tmp/**'] });

  it('maps chokidar absolute paths, ignoring anything outside the root', () => {
    expect(filter.ignoresAbsolute('/work/tree')).toBe(false);
    expect(filter.ignoresAbsolute('/work/tree/a.md')).toBe(false);
    expect(filter.ignoresAbsolute('/work/tree/tmp/x')).toBe(true);
    expect(filter.ignoresAbsolute('/work/other/a.md')).toBe(true);
    expect(filter.ignoresAbsolute('/work/tree-2/a.md')).toBe(true);
    expect(filter.toRelative('/work/tree/a/b')).toBe('a/b');
    expect(filter.toRelative('/elsewhere')).toBeNull();
  });

  it('answers the same with and without stats (chokidar asks twice)', () => {
    const stats = { isDirectory: () => true, isFile: () => false };
    for (const p of ['/work/tree/.git', '/work/tree/src', '/work/tree/.claude/sync-coordination', '/work/tree/tmp']) {
      expect(filter.ignoresAbsolute(p, stats)).toBe(filter.ignoresAbsolute(p));
    }
  });

  it('grows and replaces its git snapshot', () => {
    const f = createIgnoreFilter({ root, stateDirRel: '.claude/sync-coordination', globs: [] });
    expect(f.ignoresRelative('build/x')).toBe(false);
    f.addGitIgnored('build', true);
    f.addGitIgnored('a.log', false);
    expect(f.ignoresRelative('build/x')).toBe(true);
    expect(f.ignoresRelative('a.log')).toBe(true);
    f.setGitIgnored({ dirs: new Set(['out']), files: new Set() });
    expect(f.ignoresRelative('build/x')).toBe(false);
    expect(f.ignoresRelative('out/y')).toBe(true);
  });
});

describe('git ignore rules, asked of a real repository', () => {
  let repo: ReturnType<typeof makeRepo>;
  let git: ReadGit;

  beforeAll(() => {
    repo = makeRepo();
    git = createReadGit(repo.root, repo.env);
    repo.write('.gitignore', '/node_modules/\n*.log\n');
    repo.write('sub/.gitignore', '*.gen\ncache/\n');
    repo.write('.git/info/exclude', '.claude/sync-coordination/\nsecret.txt\n');
    repo.write('../global-excludes', '*.bak\n');
    repo.git('config', 'core.excludesFile', join(repo.dir, 'global-excludes'));
    repo.write('keep.txt');
    repo.write('tracked.log');
    repo.git('add', '.gitignore', 'sub/.gitignore', 'keep.txt');
    repo.git('add', '-f', 'tracked.log');
    repo.git('commit', '-q', '-m', 'init');
    for (const f of [
      'node_modules/pkg/index.js',
      'lib/node_modules/dep/index.js',
      'app.log',
      'sub/a.gen',
      'sub/cache/blob',
      'sub/keep.txt',
      'secret.txt',
      'notes.bak',
      '.claude/sync-coordination/queue/r.json',
      '.claude/settings.json',
      'notes.sync-conflict-20260101-120000-laptop.md',
    ]) {
      repo.write(f);
    }
  });
  afterAll(() => repo.cleanup());

  it('precomputes ignored directories and files from every source git uses', async () => {
    const snap = await listGitIgnored(git);
    expect([...snap.dirs].sort()).toEqual(['.claude/sync-coordination', 'node_modules', 'sub/cache']);
    expect([...snap.files].sort()).toEqual(['app.log', 'notes.bak', 'secret.txt', 'sub/a.gen']);
  });

  it('feeds the predicate: ignored by git, .git, state dir and globs vs everything else', async () => {
    const filter = createIgnoreFilter({ root: repo.root, stateDirRel: '.claude/sync-coordination', globs: ['drafts/**'] });
    filter.setGitIgnored(await listGitIgnored(git));
    const yes = [
      'node_modules',
      'node_modules/pkg/index.js',
      'app.log',
      'sub/a.gen',
      'sub/cache/blob',
      'secret.txt',
      'notes.bak',
      '.git/HEAD',
      '.claude/sync-coordination/queue/r.json',
      'drafts/a.md',
    ];
    const no = [
      'keep.txt',
      'tracked.log',
      'sub/keep.txt',
      'lib/node_modules/dep/index.js',
      '.claude/settings.json',
      'notes.sync-conflict-20260101-120000-laptop.md',
      '.gitignore',
      'sub/.gitignore',
    ];
    for (const p of yes) expect(filter.ignoresAbsolute(join(repo.root, p)), p).toBe(true);
    for (const p of no) expect(filter.ignoresAbsolute(join(repo.root, p)), p).toBe(false);
  });

  it('check-ignore judges paths the snapshot never saw; file names stay data', async () => {
    const paths = ['later.log', 'later.txt', 'sub/new.gen', 'sub/deeper/c.gen', 'tracked.log', 'weird name\n.log', '-rf.log', 'ünïcode.bak', 'node_modules/x'];
    const ignored = await checkIgnored(git, paths);
    expect([...ignored].sort()).toEqual(
      ['-rf.log', 'later.log', 'node_modules/x', 'sub/deeper/c.gen', 'sub/new.gen', 'weird name\n.log', 'ünïcode.bak'].sort(),
    );
    expect(await checkIgnored(git, [])).toEqual(new Set());
  });

  it('status sees changes but not ignored files', async () => {
    const entries = await statusEntries(git);
    const paths = entries.map((e) => e.path).sort();
    expect(paths).toEqual(['.claude/settings.json', 'lib/node_modules/dep/index.js', 'notes.sync-conflict-20260101-120000-laptop.md', 'sub/keep.txt']);
    expect(entries.every((e) => e.xy === '??')).toBe(true);
  });
});

describe('read-only git environment', () => {
  it('is built from an allowlist and marks our own git children', () => {
    const env = readOnlyGitEnv({
      PATH: '/bin',
      HOME: '/h',
      GIT_DIR: '/evil/.git',
      GIT_INDEX_FILE: '/evil/index',
      GIT_WORK_TREE: '/evil',
      EDITOR: 'vim',
      GIT_CONFIG_GLOBAL: '/h/g',
      LANG: 'de_DE.UTF-8',
    });
    expect(env).toMatchObject({
      PATH: '/bin',
      HOME: '/h',
      GIT_CONFIG_GLOBAL: '/h/g',
      CLAUDE_SYNC_ACTIVE: '1',
      AUTOMATED_SYNC: '1',
      GIT_TERMINAL_PROMPT: '0',
      GCM_INTERACTIVE: 'never',
      LC_ALL: 'C',
      LANG: 'C',
    });
    for (const leaked of ['GIT_DIR', 'GIT_INDEX_FILE', 'GIT_WORK_TREE', 'EDITOR', 'SYNC_COORDINATOR_OP']) expect(env[leaked]).toBeUndefined();
  });

  it("does not follow a hook's GIT_DIR/GIT_WORK_TREE to another repository", async () => {
    const a = makeRepo();
    const b = makeRepo();
    try {
      a.write('only-in-a.txt');
      b.write('only-in-b.txt');
      const git = createReadGit(a.root, { ...a.env, GIT_DIR: join(b.root, '.git'), GIT_WORK_TREE: b.root });
      expect((await statusEntries(git)).map((e) => e.path)).toEqual(['only-in-a.txt']);
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });
});
