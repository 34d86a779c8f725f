/**
 * The remote: configured, and answering `git ls-remote --heads` within a bounded time
 * (through the git choke point: sanitized env, never prompts, whole process group
 * killed at the deadline). The failure is classified with the same table the sync
 * uses: authentication, repository not found, unusable URL, or the network.
 *
 * This is the one doctor call that talks to the remote. It runs without the workspace
 * lock on purpose: it writes nothing (not even the local repository: `--no-optional-locks`)
 * and the doctor must answer while a sync holds the lock.
 */
import { classifyGitError, gitSaid } from '../git/classify.js';
import { GitError } from '../git/git-error.js';
import type { Git } from '../git/git.js';
import { redactUrls } from '../shared/redact.js';
import { fail, ok, type CheckResult } from './types.js';
import { shellWord } from '../shared/shell-word.js';

const NAME = 'remote';
export const REMOTE_TIMEOUT_MS = 10_000;

export interface RemoteProbe {
  result: CheckResult;
  /** Branch names on the remote when it answered, else null. */
  heads: string[] | null;
  url: string | null;
}

/** `<sha>\trefs/heads/<name>` lines → branch names. */
export function parseHeads(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split('\n')) {
    const ref = line.split('\t')[1];
    if (ref?.startsWith('refs/heads/')) out.push(ref.slice('refs/heads/'.length));
  }
  return out;
}

/** What a failed ls-remote means for the user, and the fix (pure; tested with captured errors). */
export function judgeRemoteFailure(e: GitError, remote: string, url: string, timeoutMs = REMOTE_TIMEOUT_MS): CheckResult {
  const where = `remote "${remote}" (${redactUrls(url)})`;
  const said = gitSaid(e);
  const setUrl = `git remote set-url ${shellWord(remote)} <url>`;
  if (e.kind === 'timeout') {
    return fail(
      NAME,
      `${where} did not answer within ${Math.round(timeoutMs / 1000)} s`,
      'check the network, VPN or proxy, and that the host is up; syncs retry and commit locally meanwhile',
    );
  }
  switch (classifyGitError(e, true)) {
    case 'auth':
      return fail(
        NAME,
        `authentication to ${where} failed (git said: ${said})`,
        'fix the credentials for this remote (ssh key in ssh-agent, a credential helper or a token); sync-coordinator never prompts',
      );
    case 'not-found':
      return fail(
        NAME,
        `${where}: repository not found (git said: ${said})`,
        `check the URL and that the repository exists and you may access it; change it with: ${setUrl}`,
      );
    case 'bad-remote':
      return fail(NAME, `${where} cannot be used (git said: ${said})`, `fix the URL: ${setUrl}`);
    case 'network':
      return fail(
        NAME,
        `${where} is unreachable: network (git said: ${said || e.message})`,
        'check the network, VPN or proxy, and that the host is up; syncs retry and commit locally meanwhile',
      );
    default:
      return fail(
        NAME,
        `${where}: git ls-remote failed (git said: ${said || e.message})`,
        `try "git ls-remote --heads ${shellWord(remote)}" yourself to see why`,
      );
  }
}

export async function checkRemote(git: Git, remote: string, timeoutMs = REMOTE_TIMEOUT_MS): Promise<RemoteProbe> {
  const cfg = await git.run(['config', '--get', `remote.${remote}.url`], { readOnly: true, okCodes: [1], timeoutMs: 10_000 });
  const url = cfg.code === 0 ? cfg.stdout.trim() : '';
  if (!url) {
    return {
      result: fail(
        NAME,
        `remote "${remote}" is not configured`,
        `git remote add ${shellWord(remote)} <url>  (or set "remote" in .claude/sync-coordination/config.json)`,
      ),
      heads: null,
      url: null,
    };
  }
  const started = Date.now();
  try {
    // `--` and a remote name we read from our own config: never an option.
    const res = await git.run(['ls-remote', '--heads', '--', remote], { readOnly: true, network: true, timeoutMs });
    const heads = parseHeads(res.stdout);
    const ms = Date.now() - started;
    return { result: ok(NAME, `"${remote}" (${redactUrls(url)}) reachable in ${ms} ms, ${heads.length} branch${heads.length === 1 ? '' : 'es'}`), heads, url };
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    return { result: judgeRemoteFailure(e, remote, url, timeoutMs), heads: null, url };
  }
}
