/**
 * Issue 12 item 2: a push the server refuses shows the server's own reason (its
 * `remote:` lines), sanitized and bounded, not only "pre-receive hook declined".
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toSyncError } from '../../src/git/classify.js';
import { createGit } from '../../src/git/git.js';
import { GitError } from '../../src/git/git-error.js';
import { parsePushPorcelain, pushRefusedError } from '../../src/git/push.js';
import { remoteSaid, REMOTE_SAID_MAX_BYTES } from '../../src/git/remote-said.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, setupDevice, STATE_DIR, testConfig } from '../engine/engine-helpers.js';

const REASON = 'denied: files over 1 MB are not allowed on main';

/** A bare remote whose pre-receive hook prints a coloured reason and refuses every push. */
function refusingRemote(sb: Sandbox): void {
  const hook = join(sb.remote, 'hooks', 'pre-receive');
  writeFileSync(hook, `#!/bin/sh\nprintf '\\033[31m${REASON}\\033[0m\\n' >&2\nprintf 'contact admin\\007 please\\n' >&2\nexit 1\n`);
  chmodSync(hook, 0o755);
}

let sb: Sandbox | null = null;
afterEach(() => {
  sb?.cleanup();
  sb = null;
});

describe('remoteSaid (pure)', () => {
  it('keeps only remote: lines, strips ANSI and control characters', () => {
    const stderr =
      'To /r.git\nremote: \u001b[1;31mno pushes on Friday\u001b[0m\u0007\nremote: Resolving deltas: 100% (3/3)\r\nremote: see https://user:tok@example.test/policy\n ! [remote rejected] main -> main (pre-receive hook declined)\n';
    expect(remoteSaid(stderr)).toEqual(['no pushes on Friday', 'see https://***@example.test/policy']);
  });

  it('is bounded in lines and bytes', () => {
    const many = Array.from({ length: 50 }, (_, i) => `remote: line ${i}`).join('\n');
    const lines = remoteSaid(many);
    expect(lines.length).toBe(8);
    expect(lines[7]).toMatch(/…$/);
    const long = remoteSaid(`remote: ${'x'.repeat(5000)}\nremote: after`);
    expect(Buffer.byteLength(long.join(''), 'utf8')).toBeLessThanOrEqual(REMOTE_SAID_MAX_BYTES + 4);
    expect(long).toHaveLength(1);
  });

  it('says nothing when the remote said nothing', () => {
    expect(remoteSaid('fatal: unable to access\n')).toEqual([]);
  });
});

describe('a push refused by a pre-receive hook (real bare remote)', () => {
  it("the porcelain result and its error carry the hook's reason, sanitized", async () => {
    sb = makeSandbox();
    const repo = sb.clone('a');
    refusingRemote(sb);
    writeFileSync(join(repo, 'big.bin'), 'x');
    sb.git(repo, 'add', 'big.bin');
    sb.git(repo, 'commit', '-q', '-m', 'big');
    const git = createGit(repo, null, null, undefined, sb.env);
    const ref = 'refs/heads/main';
    const res = await git.run(['push', '--porcelain', 'origin', `HEAD:${ref}`], { network: true, okCodes: [1] });
    const parsed = parsePushPorcelain(res.stdout, ref, res.stderr);
    expect(parsed?.status).toBe('remote-rejected');
    expect(parsed?.remote).toEqual([REASON, 'contact admin please']);
    const err = pushRefusedError(parsed!);
    expect(err.code).toBe('EREMOTEREJECTED');
    expect(err.message).toContain(`the remote said: ${REASON} | contact admin please`);
    expect(err.message).not.toMatch(/[\u0000-\u001f]/);
  });

  it('toSyncError of a failed push (no porcelain line) carries the reason too', async () => {
    sb = makeSandbox();
    const repo = sb.clone('a');
    refusingRemote(sb);
    writeFileSync(join(repo, 'f.txt'), 'x');
    sb.git(repo, 'add', 'f.txt');
    sb.git(repo, 'commit', '-q', '-m', 'f');
    const git = createGit(repo, null, null, undefined, sb.env);
    const e = await git.run(['push', 'origin', 'HEAD:refs/heads/main'], { network: true }).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(GitError);
    const typed = toSyncError(e, { step: 'push', network: true }) as Error;
    expect(typed.message).toContain(REASON);
    expect(typed.message).not.toMatch(/\u001b/);
  });

  it('sync-now against a refusing remote shows the reason on stderr, in coordinator.log and in status last_error', async () => {
    sb = makeSandbox();
    const repo = sb.clone('a');
    await setupDevice(sb, repo, testConfig('a'));
    refusingRemote(sb);
    writeFileSync(join(repo, 'f.txt'), 'x');
    const r = await cli(sb, repo, ['sync-now']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(REASON);
    expect(readFileSync(join(repo, STATE_DIR, 'coordinator.log'), 'utf8')).toContain(REASON);
    const st = JSON.parse((await cli(sb, repo, ['status', '--json'])).stdout);
    expect(st.stats.last_error).toContain(REASON);
  });
});
