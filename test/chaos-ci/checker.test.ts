/**
 * The chaos checker can fail: each invariant check of test/chaos/harness is shown a
 * world where that invariant is broken on purpose (by plain git, behind the
 * coordinator's back) and must report it; a healthy world reports nothing.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkConvergence,
  checkEngineGit,
  checkGitCalls,
  checkLeftovers,
  checkNoForcePush,
  checkNoMarkers,
  checkRequests,
  copiesOf,
  finalTree,
  forbiddenCall,
  ledgerCheck,
  readCalls,
  subcommand,
} from '../chaos/harness/checks.js';
import { remotePathsEver, TrustEvents } from '../chaos/harness/trust.js';
import { revParse } from '../chaos/harness/gitread.js';
import { Ledger } from '../chaos/harness/ledger.js';
import { createRng } from '../chaos/harness/prng.js';
import { World } from '../chaos/harness/world.js';

describe('chaos checker', () => {
  let world: World;
  const main = () => revParse(world.sb.env, world.sb.remote, 'main')!;

  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('a healthy world passes every check', async () => {
    const a = world.clone('a');
    const ledger = new Ledger(7);
    ledger.ownEdit(a.repo, 'a', 1, 'create', () => 0, false);
    ledger.sharedLine(a.repo, 'a', 1, 0, 3, () => world.quiescent(a));
    // Issue 11's events: the rogue device pushes state files; a's user adds an ignored
    // file and a nested repository.
    const trust = new TrustEvents(world);
    trust.roguePush(1);
    expect(trust.statePushes).toBe(1);
    trust.addIgnored(a);
    trust.addNested(a, createRng(1));
    for (const name of ['a', 'b', 'c'] as const) expect((await world.cli(world.clone(name), ['sync-now'])).code).toBe(0);
    expect((await world.cli(a, ['sync-now'])).code).toBe(0);
    expect(trust.check()).toEqual([]);
    expect(checkEngineGit(world)).toEqual([]);
    expect(checkConvergence(world, main())).toEqual([]);
    expect(ledgerCheck(world, ledger, finalTree(world, main()), main()).violations).toEqual([]);
    expect(checkNoMarkers(world)).toEqual({ violations: [], notes: [] });
    expect(checkNoForcePush(world, [main()]).violations).toEqual([]);
    expect(await checkLeftovers(world)).toEqual([]);
    expect(checkGitCalls(world).violations).toEqual([]);
    expect(checkGitCalls(world).calls).toBeGreaterThan(10);
  });

  it('reports a lost edit, and finds one kept in a conflict copy', () => {
    const c = world.clone('c');
    const ledger = new Ledger(8);
    ledger.ownEdit(c.repo, 'c', 2, 'create', () => 0, false); // never synced: not on the remote
    const r = ledgerCheck(world, ledger, finalTree(world, main()), main());
    expect(r.lost).toBe(1);
    expect(r.violations[0]).toMatch(/^lost edit: tok-8-c-1 .*own\/c\/f0\.txt: nowhere/);
    // A later write of the same file in the same clone supersedes the first one.
    ledger.ownEdit(c.repo, 'c', 3, 'write', () => 0, false);
    expect(ledger.required().map((t) => t.token)).toEqual(['tok-8-c-2']);
    // A token in a conflict copy of its path counts as kept.
    const files = new Map([['shared/s1.sync-conflict-20250101-000000-devB.txt', 'x\ntok-9-b-1\n']]);
    const l2 = new Ledger(9);
    l2.sharedLine(world.clone('b').repo, 'b', 1, 1, 2, () => true);
    const r2 = ledgerCheck(world, l2, files, main());
    expect(r2.lost).toBe(0);
    expect(r2.inCopies).toBe(1);
    expect(copiesOf('shared/s1.txt', files.keys())).toEqual(['shared/s1.sync-conflict-20250101-000000-devB.txt']);
    world.sb.git(c.repo, 'checkout', '-q', '--', '.');
    world.sb.git(c.repo, 'clean', '-qfd', 'own');
    world.sb.git(world.clone('b').repo, 'checkout', '-q', '--', '.');
  });

  it('reports a deleted file that came back', () => {
    const ledger = new Ledger(10);
    const a = world.clone('a');
    ledger.ownEdit(a.repo, 'a', 1, 'create', () => 0, false);
    ledger.ownEdit(a.repo, 'a', 2, 'delete', () => 0, false);
    const files = new Map([['own/a/f0.txt', 'own file own/a/f0.txt\ntok-10-a-1\n']]);
    const r = ledgerCheck(world, ledger, files, main());
    expect(r.violations.join('\n')).toMatch(/undone delete: own\/a\/f0\.txt/);
  });

  it('reports unpushed commits and a dirty work tree', () => {
    const b = world.clone('b');
    writeFileSync(join(b.repo, 'unpushed.txt'), 'x\n');
    world.sb.git(b.repo, 'add', 'unpushed.txt');
    world.sb.git(b.repo, 'commit', '-q', '-m', 'not pushed');
    writeFileSync(join(b.repo, 'dirty.txt'), 'x\n');
    const v = checkConvergence(world, main()).join('\n');
    expect(v).toMatch(/clone b HEAD tree .* differs/);
    expect(v).toMatch(/clone b work tree not clean/);
    world.sb.git(b.repo, 'reset', '-q', '--hard', 'origin/main');
    world.sb.git(b.repo, 'clean', '-qf');
  });

  it('reports a conflict marker in any reachable blob, and a force push', () => {
    const a = world.clone('a');
    const before = main();
    mkdirSync(join(a.repo, 'm'), { recursive: true });
    writeFileSync(join(a.repo, 'm', 'marked.txt'), 'a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> theirs\n');
    world.sb.git(a.repo, 'add', 'm/marked.txt');
    world.sb.git(a.repo, 'commit', '-q', '-m', 'markers');
    world.sb.git(a.repo, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
    const marked = main();
    expect(checkNoMarkers(world).violations.join('\n')).toMatch(/remote has blob .* \(m\/marked\.txt\)/);
    // Rewrite it away with a force push: the markers stay in the clone's reflog-free
    // history only through refs; the force push is what the reflog shows.
    world.sb.git(a.repo, 'reset', '-q', '--hard', before);
    world.sb.git(a.repo, 'push', '-q', '--force', 'origin', 'HEAD:refs/heads/main');
    const fp = checkNoForcePush(world, [before, marked, main()]);
    expect(fp.violations.join('\n')).toMatch(/force-push: remote main moved .* which does not descend/);
    expect(fp.violations.join('\n')).toMatch(/remote tip after round 2/);
  });

  it('a marker reachable from any ref is a violation, backup refs included (no snapshot exception any more)', () => {
    const c = world.clone('c');
    const git = (...args: string[]) => world.sb.git(c.repo, ...args).trim();
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], {
      cwd: c.repo,
      env: world.sb.env,
      input: 'x\n<<<<<<< HEAD\na\n=======\nb\n>>>>>>> theirs\n',
      encoding: 'utf8',
    }).trim();
    const tree = execFileSync('git', ['mktree'], { cwd: c.repo, env: world.sb.env, input: `100644 blob ${blob}\tsnap.txt\n`, encoding: 'utf8' }).trim();
    const commit = execFileSync('git', ['commit-tree', tree, '-m', 'snapshot'], { cwd: c.repo, env: world.sb.env, encoding: 'utf8' }).trim();
    git('update-ref', 'refs/sync-coordinator/backup/20250101-000000-abcdef-worktree', commit);
    expect(checkNoMarkers(world).violations.join('\n')).toMatch(/markers: clone c has blob .* \(snap\.txt\)/);
    git('update-ref', '-d', 'refs/sync-coordinator/backup/20250101-000000-abcdef-worktree');
    expect(checkNoMarkers(world).violations.filter((x) => x.includes('clone c'))).toEqual([]);
  });

  it('reports a git call of the old engine (rebase, merge, checkout-index, reset --hard, a forced push)', () => {
    for (const args of [
      '-c core.editor=true rebase origin/main',
      'merge --no-edit origin/main',
      'checkout-index -f -- a',
      'reset -q --hard HEAD',
      'push --porcelain origin +abc:refs/heads/main',
      'push --force origin x:refs/heads/main',
      'cherry-pick abc',
    ])
      expect(forbiddenCall(args), args).toBe(true);
    for (const args of [
      'merge-file -p -q a b c',
      'merge-base a b',
      'read-tree -m -u a b',
      'reset -q abc --pathspec-from-file=-',
      'push --porcelain origin abc:refs/heads/main',
      'fetch --no-tags --quiet origin +refs/heads/main:refs/remotes/origin/main',
      'update-ref -m x refs/heads/main a b',
    ])
      expect(forbiddenCall(args), args).toBe(false);
    const a = world.clone('a');
    const t = 1_700_000_000_000_000_000n;
    appendFileSync(a.recorder.logFile, `${t} ${t + 10n} op-9 99 -c core.editor=true rebase --continue\n`);
    expect(checkEngineGit(world).join('\n')).toMatch(/engine: clone a: op op-9 ran .*rebase --continue/);
  });

  it('reports an ignored path, a nested path or a gitlink ever pushed, and a device state file changed', () => {
    const a = world.clone('a');
    const before = main();
    mkdirSync(join(a.repo, 'secrets'), { recursive: true });
    writeFileSync(join(a.repo, 'secrets', 'leak.txt'), 'secret\n');
    world.sb.git(a.repo, 'add', '-f', 'secrets/leak.txt');
    world.sb.git(a.repo, 'update-index', '--add', '--cacheinfo', `160000,${before},nested/sub`);
    world.sb.git(a.repo, 'commit', '-q', '-m', 'leak');
    world.sb.git(a.repo, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
    // Removed again later: it stays reachable in history, which is what counts.
    world.sb.git(a.repo, 'rm', '-q', '-r', '--cached', 'secrets', 'nested/sub');
    world.sb.git(a.repo, 'commit', '-q', '-m', 'unleak');
    world.sb.git(a.repo, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
    const v = remotePathsEver(world).join('\n');
    expect(v).toMatch(/published: the remote has ignored\/nested path secrets\/leak\.txt/);
    expect(v).toMatch(/published: the remote has a gitlink nested\/sub/);
    const trust = new TrustEvents(world);
    expect(trust.violations).toEqual([]);
    const cfg = join(a.state, 'config.json');
    const saved = readFileSync(cfg);
    writeFileSync(cfg, '{"device_name":"ROGUE"}');
    trust.sampleState();
    expect(trust.violations.join('\n')).toMatch(/clone a's .claude\/sync-coordination\/config.json changed/);
    writeFileSync(cfg, saved);
    rmSync(join(a.repo, 'secrets'), { recursive: true, force: true });
  });

  it('reports leftovers: git lock files, a held lock, an unanswered request', async () => {
    const c = world.clone('c');
    writeFileSync(join(c.repo, '.git', 'index.lock'), '');
    mkdirSync(join(c.state, 'sync-coordinator.lock'));
    mkdirSync(join(c.repo, '.git', 'sync-coordinator'), { recursive: true });
    writeFileSync(join(c.repo, '.git', 'sync-coordinator', 'index-20250101-000000-abcdef-merge'), '');
    const v = (await checkLeftovers(world)).join('\n');
    expect(v).toMatch(/clone c has .git\/index.lock/);
    expect(v).toMatch(/clone c has the private file .git\/sync-coordinator\/index-20250101-000000-abcdef-merge/);
    expect(v).toMatch(/clone c lock still held/);
    expect(checkRequests([{ clone: c, id: '0000000000000-1-deadbeef' }]).join('\n')).toMatch(/got exit 0 but has neither/);
  });

  it('reports overlapping git of two ops and a writing git outside the lock', () => {
    const b = world.clone('b');
    const t = 1_700_000_000_000_000_000n;
    appendFileSync(
      b.recorder.logFile,
      [
        `${t} ${t + 100n} op-1 11 -c core.quotepath=off commit -m two`,
        'lines',
        `${t + 50n} ${t + 150n} op-2 12 push origin HEAD:refs/heads/main`,
        `${t + 200n} ${t + 210n} - 13 -c x=y commit -q -m x`,
        '',
      ].join('\n'),
    );
    expect(readCalls(b.recorder.logFile).find((k) => k.op === 'op-1')?.args).toBe('-c core.quotepath=off commit -m two\nlines');
    const v = checkGitCalls(world).violations.join('\n');
    expect(v).toMatch(/one-writer: clone b: git of op op-1 .* overlaps git of op op-2/);
    expect(v).toMatch(/read-only-outside-lock: clone b: .*commit -q -m x/);
    expect(subcommand('--no-optional-locks -c a=b -C /x status --porcelain')).toBe('status');
  });

  it('the PRNG replays from its seed', () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 5 }, () => a.int(0, 1000));
    expect(Array.from({ length: 5 }, () => b.int(0, 1000))).toEqual(xs);
    expect(createRng(43).int(0, 1000)).not.toBe(xs[0]);
  });
});
