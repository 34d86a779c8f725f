/**
 * git identity: every sync commits, so git must know who commits. Asked the way git
 * itself decides (`git var GIT_AUTHOR_IDENT` / `GIT_COMMITTER_IDENT`, strict like
 * `git commit`), in the repository, with the coordinator's sanitized environment (which
 * drops GIT_AUTHOR_NAME, EMAIL, ... so only git config counts, as in a real sync).
 * Fail when git cannot tell; warn when it only guesses from the user and host name.
 */
import { GitError } from '../git/git-error.js';
import type { Git } from '../git/git.js';
import { fail, ok, warn, type CheckResult } from './types.js';

const NAME = 'git identity';

export const IDENTITY_FIX =
  'git config --global user.name "Your Name" && git config --global user.email "you@example.com"  (or without --global for this repository only)';

/** `Name <email> 1700000000 +0000` → `Name <email>`. */
export function identOf(varOutput: string): string {
  return varOutput.trim().replace(/\s+\d+\s+[+-]\d{4}$/, '');
}

async function configValue(git: Git, key: string): Promise<string | null> {
  const res = await git.run(['config', '--get', key], { readOnly: true, okCodes: [1], timeoutMs: 10_000 });
  return res.code === 0 ? res.stdout.trim() : null;
}

export async function checkIdentity(git: Git): Promise<CheckResult> {
  let ident: string;
  try {
    const author = await git.run(['var', 'GIT_AUTHOR_IDENT'], { readOnly: true, timeoutMs: 10_000 });
    await git.run(['var', 'GIT_COMMITTER_IDENT'], { readOnly: true, timeoutMs: 10_000 });
    ident = identOf(author.stdout);
  } catch (e) {
    const said =
      e instanceof GitError
        ? (e.stderr
            .trim()
            .split('\n')
            .filter((l) => l.startsWith('fatal:'))
            .pop() ?? '')
        : (e as Error).message;
    return fail(NAME, `git does not know who commits here, so no sync can commit${said ? ` (${said})` : ''}`, IDENTITY_FIX);
  }
  const [name, email] = await Promise.all([configValue(git, 'user.name'), configValue(git, 'user.email')]);
  if (!name || !email) {
    const missing = [!name && 'user.name', !email && 'user.email'].filter(Boolean).join(' and ');
    return warn(NAME, `${missing} not set; git guesses "${ident}" from the user and host name`, IDENTITY_FIX);
  }
  return ok(NAME, ident);
}
