/**
 * A state file that git tracks is never used (invariant 14), against real repositories:
 * another device commits files under the state directory with `git add -f`, the user's
 * own `git pull` checks them out over this device's, and every command that would use
 * them refuses (exit 1, naming the paths and the clean-up) while `status` and `doctor`
 * report it. Plus the index scan's three answers on real index files.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { indexMayTrackState, statePathsInTree, trackedStatePaths, treeStatePaths } from '../../src/core/tracked-state.js';
import { createGit } from '../../src/git/git.js';

const STATE = '.claude/sync-coordination';
let sb: Sandbox;
let a: string;
let b: string;

beforeEach(() => {
  sb = makeSandbox('sc-tracked-');
  a = sb.clone('a');
  b = sb.clone('b');
});
afterEach(() => sb.cleanup());

const cli = (args: string[], cwd = a) => runCli(args, { cwd, env: sb.env });
const ws = (dir: string) => ({ gitDir: join(dir, '.git'), git: createGit(dir, null, null, undefined, sb.env) });

/** The other device commits files under its state directory (git add -f) and pushes. */
function remoteTracksState(files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(b, STATE, name, '..'), { recursive: true });
    writeFileSync(join(b, STATE, name), text);
  }
  sb.git(b, 'add', '-f', '--', ...Object.keys(files).map((n) => `${STATE}/${n}`));
  sb.git(b, 'commit', '-q', '-m', 'commit the state dir');
  sb.git(b, 'push', '-q', 'origin', 'main');
  return sb.git(b, 'rev-parse', 'HEAD').trim();
}

describe('the index scan', () => {
  it('false on a clean index, true when a state path is tracked, null on index v4 (paths are prefix-compressed)', async () => {
    writeFileSync(join(a, 'x.txt'), 'x\n');
    // A neighbour whose name shares the prefix but is not the state directory.
    mkdirSync(join(a, '.claude'), { recursive: true });
    writeFileSync(join(a, '.claude', 'sync-coordination-notes.md'), 'n\n');
    sb.git(a, 'add', '.');
    expect(indexMayTrackState(readFileSync(join(a, '.git', 'index')))).toBe(false);
    expect(await trackedStatePaths(ws(a))).toEqual([]);

    mkdirSync(join(a, STATE), { recursive: true });
    writeFileSync(join(a, STATE, 'config.json'), '{}\n');
    sb.git(a, 'add', '-f', `${STATE}/config.json`);
    expect(indexMayTrackState(readFileSync(join(a, '.git', 'index')))).toBe(true);
    expect(await trackedStatePaths(ws(a))).toEqual([`${STATE}/config.json`]);

    sb.git(a, 'update-index', '--index-version', '4');
    expect(indexMayTrackState(readFileSync(join(a, '.git', 'index')))).toBe(null);
    // ...so ls-files decides, and finds it.
    expect(await trackedStatePaths(ws(a))).toEqual([`${STATE}/config.json`]);
    sb.git(a, 'rm', '-q', '--cached', `${STATE}/config.json`);
    expect(await trackedStatePaths(ws(a))).toEqual([]);
  });

  it('statePathsInTree and treeStatePaths find state paths in a remote tree, also a symlink named like the directory', async () => {
    const tip = remoteTracksState({ 'config.json': '{}\n', 'queue/1.json': '{}\n' });
    sb.git(a, 'fetch', '-q', 'origin');
    expect(await treeStatePaths(ws(a).git, tip)).toEqual([`${STATE}/config.json`, `${STATE}/queue/1.json`]);
    await expect(treeStatePaths(ws(a).git, '--output=/tmp/x')).rejects.toThrow(/not a full object id/);
    const full = `100644 blob ${'a'.repeat(40)}\tREADME.md\u0000120000 blob ${'b'.repeat(40)}\t${STATE}\u0000100644 blob ${'c'.repeat(40)}\t.claude/sync-coordination-notes.md\u0000`;
    expect(statePathsInTree(full)).toEqual([STATE]);
    expect(statePathsInTree(`a\tb\u0000${STATE}/x\u0000`, { nameOnly: true })).toEqual([`${STATE}/x`]);
  });
});

describe('commands refuse a tracked state directory', () => {
  it("after the user's own pull checks out another device's config and lock owner: request-sync and process exit 1 naming them, status and doctor say so; after git rm --cached it works again", async () => {
    expect((await cli(['init'])).code).toBe(0);
    const config = join(a, STATE, 'config.json');
    writeFileSync(config, '{"max_syncs_per_hour": 5}\n');
    remoteTracksState({ 'config.json': '{"remote": "elsewhere"}\n', 'lock-owner.json': '{"caller":"evil"}\n' });
    // git overwrites ignored files when it checks out tracked ones.
    sb.git(a, 'pull', '-q', '--ff-only');
    expect(readFileSync(config, 'utf8')).toBe('{"remote": "elsewhere"}\n');
    const queueBefore = readdirSync(join(a, STATE, 'queue'));

    for (const args of [['request-sync', 'smart', 'test'], ['request-sync', 'smart', 'test', '--enqueue-only'], ['process'], ['sync-now']]) {
      const r = await cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`${STATE}/config.json, ${STATE}/lock-owner.json`);
      expect(r.stderr).toContain(`git rm -r --cached ${STATE}`);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(readdirSync(join(a, STATE, 'queue'))).toEqual(queueBefore);

    const status = await cli(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const view = JSON.parse(status.stdout) as { tracked_state: string[]; rate_limit: { limit: number }; lock: unknown };
    expect(view.tracked_state).toEqual([`${STATE}/config.json`, `${STATE}/lock-owner.json`]);
    expect(view.rate_limit.limit).toBe(12); // the defaults, not the tracked config's
    expect(view).toHaveProperty('lock');
    const human = await cli(['status']);
    expect(human.stdout).toMatch(/REFUSING: .*git rm -r --cached/);

    const doctor = JSON.parse((await cli(['doctor', '--json'])).stdout) as { ok: boolean; checks: { name: string; status: string; fix: string | null }[] };
    const check = doctor.checks.find((c) => c.name === 'tracked state');
    expect(check).toMatchObject({ status: 'fail' });
    expect(check!.fix).toContain('git rm -r --cached');
    expect(doctor.ok).toBe(false);

    sb.git(a, 'rm', '-r', '-q', '--cached', STATE);
    sb.git(a, 'commit', '-q', '-m', 'untrack the state dir');
    const again = await cli(['request-sync', 'smart', 'test', '--enqueue-only', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse((await cli(['status', '--json'])).stdout).tracked_state).toEqual([]);
  });
});
