/**
 * A tracked file edited while the sync's rebase is stopped on a conflict: `git rebase
 * --continue` refuses to go on over any unstaged change and prints "You must edit all
 * merge conflicts and then mark them as resolved using git add", although the policy has
 * resolved every conflict. The sync used to report that as "the rebase stopped without a
 * conflict: You must edit all merge conflicts…". It must say what happened, keep the
 * edit (the undo restores the branch around it), and the next sync must deliver it.
 *
 * A git in front of the real one (DESIGN: the first `git` on PATH runs) makes the edit
 * at the exact moment: just before the coordinator's `rebase --continue`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { assertNoMarkersInHistory, cli, commitAll, setupDevice, testConfig } from './engine-helpers.js';

const notes = (who: string) => ['one', `two by ${who}`, 'three', ''].join('\n');

function editBeforeContinue(dir: string, file: string, text: string): string {
  const bin = join(dir, 'edit-bin');
  mkdirSync(bin, { recursive: true });
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh
case " $* " in *" rebase --continue "*)
  [ -e '${dir}/edited' ] || { : > '${dir}/edited'; printf '%s' '${text}' > '${file}'; } ;;
esac
exec '${real}' "$@"
`,
  );
  chmodSync(join(bin, 'git'), 0o755);
  return bin;
}

describe('a tracked file edited while the sync’s rebase is stopped on a conflict', () => {
  let sb: Sandbox;
  let a: string;
  let first: CliResult;
  let second: CliResult;
  let worktreeAfterFirst = '';

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-edit-during-stop-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(a, 'notes.txt'), notes('base'));
    writeFileSync(join(a, 'other.txt'), 'other base\n');
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
    const b = sb.clone('b');
    writeFileSync(join(b, 'notes.txt'), notes('devB'));
    commitAll(sb, b, 'b');
    sb.git(b, 'push', '-q', 'origin', 'main');

    writeFileSync(join(a, 'notes.txt'), notes('devA'));
    const bin = editBeforeContinue(sb.dir, join(a, 'other.txt'), 'edited during the stop\n');
    first = await cli(sb, a, ['sync-now'], { ...sb.env, PATH: `${bin}:${sb.env.PATH}` });
    worktreeAfterFirst = readFileSync(join(a, 'other.txt'), 'utf8');
    second = await cli(sb, a, ['sync-now']);
  });
  afterAll(() => sb?.cleanup());

  it('the sync fails saying that a file changed while the rebase was stopped, naming it', () => {
    expect(existsSync(join(sb.dir, 'edited'))).toBe(true);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/changed in the work tree while it was stopped on a conflict \(other\.txt\)/);
    expect(first.stderr).not.toMatch(/stopped without a conflict/);
  });

  it('the edit survives the undo, and the next sync delivers it with the conflict copy', () => {
    expect(worktreeAfterFirst).toBe('edited during the stop\n');
    expect(second.code, second.stderr).toBe(0);
    expect(sb.git(sb.remote, 'show', 'main:other.txt')).toBe('edited during the stop\n');
    expect(sb.git(sb.remote, 'show', 'main:notes.txt')).toBe(notes('devB'));
    const copies = sb.git(sb.remote, 'ls-tree', '-r', '--name-only', 'main').split('\n').filter((p) => p.startsWith('notes.sync-conflict-'));
    expect(copies).toHaveLength(1);
    expect(sb.git(sb.remote, 'show', `main:${copies[0]}`)).toBe(notes('devA'));
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
    assertNoMarkersInHistory(sb, sb.remote);
  });
});
