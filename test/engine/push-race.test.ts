/**
 * A push rejected as non-fast-forward (another device pushed between our fetch and our
 * push): fetch, integrate, push again; never a force push, so the other device's commit
 * stays in the remote's history. The race is made deterministic with the user's own
 * pre-push hook, which pushes from another clone once.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, commitAll, lsTree, setupDevice, STATE_DIR, testConfig } from './engine-helpers.js';

describe('push rejected as non-fast-forward', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-race-');
    a = sb.clone('a');
    b = sb.clone('b');
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(b, 'from-b.txt'), 'b\n');
    commitAll(sb, b, 'b work');
    const hook = `#!/bin/sh
# Another device pushes while our push is on its way (once).
[ -e '${sb.dir}/raced' ] && exit 0
: > '${sb.dir}/raced'
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX
cd '${b}' && HOME='${sb.home}' GIT_CONFIG_NOSYSTEM=1 git push -q origin main
exit 0
`;
    writeFileSync(join(a, '.git', 'hooks', 'pre-push'), hook);
    chmodSync(join(a, '.git', 'hooks', 'pre-push'), 0o755);
  });
  afterAll(() => sb?.cleanup());

  it('fetches, integrates and pushes again; the other commit is kept', async () => {
    writeFileSync(join(a, 'from-a.txt'), 'a\n');
    const bHead = sb.git(b, 'rev-parse', 'HEAD').trim();
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(a, STATE_DIR, 'coordinator.log'), 'utf8')).toMatch(/push rejected \(the remote moved meanwhile\)/);
    const tip = sb.git(sb.remote, 'rev-parse', 'main').trim();
    expect(tip).toBe(sb.git(a, 'rev-parse', 'HEAD').trim());
    expect(sb.git(sb.remote, 'merge-base', '--is-ancestor', bHead, 'main')).toBe('');
    const tree = lsTree(sb, sb.remote, 'main');
    for (const f of ['from-a.txt', 'from-b.txt']) expect(tree.has(f), f).toBe(true);
  });
});
