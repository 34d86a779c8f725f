/**
 * The commit step's exclusions (invariant 16) against real repositories: status entries
 * from `git status --porcelain=v2 -z --untracked-files=all` (what the commit step reads),
 * a nested repository, a linked worktree inside the tree, a submodule with an unpushed
 * commit (then pushed), a large file, `watch.ignore` globs; and the warned-once record
 * in coordinator-state.json.
 */
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { defaultConfig, type Config } from '../../src/shared/config.js';
import { openStateStore, readState } from '../../src/shared/state.js';
import { createGit } from '../../src/git/git.js';
import { parseStatusV2Z } from '../../src/git/status.js';
import { mergeExclusions, recordExclusions, stagingExclusions } from '../../src/git/stage-filter.js';

let sb: Sandbox;
let a: string;
const savedEnv = { HOME: process.env.HOME, GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM };

beforeEach(() => {
  sb = makeSandbox('sc-stage-');
  a = sb.clone('a');
  // stagingExclusions runs git in a submodule with the process env: keep it in the sandbox.
  process.env.HOME = sb.home;
  process.env.GIT_CONFIG_NOSYSTEM = '1';
});
afterEach(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  sb.cleanup();
});

function config(over: Partial<Config> = {}): Config {
  return { ...defaultConfig(), ...over };
}

/** What the commit step sees. */
function entries(dir: string) {
  return parseStatusV2Z(sb.git(dir, 'status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all')).entries;
}

async function exclusions(cfg: Config) {
  const git = createGit(a, null, null, undefined, sb.env);
  return (await stagingExclusions({ git, root: a, config: cfg, entries: entries(a) })).sort((x, y) => (x.path < y.path ? -1 : 1));
}

/** A repository of its own with one commit, at `dir`. */
function makeRepo(dir: string): void {
  mkdirSync(dir, { recursive: true });
  sb.git(dir, 'init', '-q', '-b', 'main');
  sb.git(dir, 'config', 'user.name', 'T');
  sb.git(dir, 'config', 'user.email', 't@example.test');
  writeFileSync(join(dir, 'inner.txt'), 'inner\n');
  sb.git(dir, 'add', '.');
  sb.git(dir, 'commit', '-q', '-m', 'inner');
}

describe('stagingExclusions', () => {
  it('watch.ignore globs (a directory glob and a file glob, also on a tracked file), and nothing else in a plain tree', async () => {
    writeFileSync(join(a, 'README.md'), 'changed\n');
    writeFileSync(join(a, 'notes.txt'), 'n\n');
    mkdirSync(join(a, 'secrets', 'deep'), { recursive: true });
    writeFileSync(join(a, 'secrets', 'deep', 'key.pem'), 'k\n');
    writeFileSync(join(a, 'app.env'), 'E=1\n');
    expect(await exclusions(config())).toEqual([]);
    const got = await exclusions(config({ watch: { enabled: true, ignore: ['secrets', '*.env', 'README.md'] } }));
    expect(got).toEqual([
      { path: 'README.md', reason: 'ignored', detail: 'matches watch.ignore glob "README.md"' },
      { path: 'app.env', reason: 'ignored', detail: 'matches watch.ignore glob "*.env"' },
      { path: 'secrets/deep/key.pem', reason: 'ignored', detail: 'matches watch.ignore glob "secrets"' },
    ]);
  });

  it('a nested repository and a linked worktree inside the tree are embedded repos; a file over max_file_size_mb is too large', async () => {
    makeRepo(join(a, 'vendor', 'lib'));
    sb.git(a, 'worktree', 'add', '-q', '-b', 'side', join(a, 'wt'));
    writeFileSync(join(a, 'big.bin'), '');
    truncateSync(join(a, 'big.bin'), 2 * 1024 * 1024 + 1);
    writeFileSync(join(a, 'small.bin'), 'x');
    const got = await exclusions(config({ max_file_size_mb: 2 }));
    expect(got.map((x) => [x.path, x.reason])).toEqual([
      ['big.bin', 'too-large'],
      ['vendor/lib/', 'embedded-repo'],
      ['wt/', 'embedded-repo'],
    ]);
    expect(got[0]!.detail).toMatch(/2\.0 MB, over max_file_size_mb \(2\)/);
  });

  it('a gitlink already in the index without .gitmodules is an embedded repo', async () => {
    makeRepo(join(a, 'nested'));
    sb.git(a, 'add', 'nested'); // git warns (advice.addEmbeddedRepo) and records a gitlink
    const inner = join(a, 'nested');
    writeFileSync(join(inner, 'inner.txt'), 'more\n');
    sb.git(inner, 'commit', '-q', '-am', 'more');
    expect((await exclusions(config())).map((x) => [x.path, x.reason])).toEqual([['nested', 'embedded-repo']]);
  });

  it('a submodule whose commit is not on its remote is excluded until that commit is pushed', async () => {
    const upstream = join(sb.dir, 'sub.git');
    sb.git(sb.dir, 'init', '-q', '--bare', '-b', 'main', upstream);
    const seed = join(sb.dir, 'sub-seed');
    makeRepo(seed);
    sb.git(seed, 'push', '-q', upstream, 'main');
    sb.git(a, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', upstream, 'sub');
    sb.git(a, 'commit', '-q', '-m', 'add submodule');
    const sub = join(a, 'sub');
    sb.git(sub, 'config', 'user.name', 'T');
    sb.git(sub, 'config', 'user.email', 't@example.test');
    writeFileSync(join(sub, 'inner.txt'), 'local only\n');
    sb.git(sub, 'commit', '-q', '-am', 'not pushed');
    const head = sb.git(sub, 'rev-parse', 'HEAD').trim();

    const got = await exclusions(config());
    expect(got).toEqual([
      {
        path: 'sub',
        reason: 'submodule-unpushed',
        detail: `its commit ${head.slice(0, 12)} is on none of the submodule's remote branches; push it from the submodule first`,
      },
    ]);

    sb.git(sub, 'push', '-q', 'origin', 'HEAD:main');
    expect(await exclusions(config())).toEqual([]);
  });
});

describe('warned once per path', () => {
  it('mergeExclusions keeps since, reports only new paths, drops paths no longer excluded', () => {
    const x = { path: 'a', reason: 'too-large' as const, detail: 'd' };
    const y = { path: 'b/', reason: 'embedded-repo' as const, detail: 'e' };
    const first = mergeExclusions([], [x], 't1');
    expect(first.fresh).toEqual([x]);
    const second = mergeExclusions(first.next, [x, y], 't2');
    expect(second.fresh).toEqual([y]);
    expect(second.next).toEqual([
      { ...x, since: 't1' },
      { ...y, since: 't2' },
    ]);
    const third = mergeExclusions(second.next, [y], 't3');
    expect(third).toEqual({ next: [{ ...y, since: 't2' }], fresh: [] });
    expect(mergeExclusions(third.next, [x, y], 't4').fresh).toEqual([x]);
  });

  it('recordExclusions writes coordinator-state.json; status --json and status show it', async () => {
    expect((await runCli(['init'], { cwd: a, env: sb.env })).code).toBe(0);
    const file = join(a, '.claude', 'sync-coordination', 'coordinator-state.json');
    const logger = { warn() {}, info() {}, error() {}, debug() {} } as never;
    const store = await openStateStore(file, logger);
    const x = { path: 'big.bin', reason: 'too-large' as const, detail: '60.0 MB' };
    expect(await recordExclusions(store, [x], new Date('2025-01-01T00:00:00Z'))).toEqual([x]);
    expect(await recordExclusions(store, [x], new Date('2025-01-02T00:00:00Z'))).toEqual([]);
    expect((await readState(file, null)).excluded).toEqual([{ ...x, since: '2025-01-01T00:00:00.000Z' }]);
    const status = await runCli(['status', '--json'], { cwd: a, env: sb.env });
    expect(JSON.parse(status.stdout).excluded).toEqual([{ ...x, since: '2025-01-01T00:00:00.000Z' }]);
    expect((await runCli(['status'], { cwd: a, env: sb.env })).stdout).toContain('big.bin (too-large: 60.0 MB; since 2025-01-01T00:00:00.000Z)');
  });
});
