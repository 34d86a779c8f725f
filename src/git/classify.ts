/**
 * One table that maps a failed git command to a class (like npm/git's lib/make-error.js):
 * transient (retried with backoff), permanent (never retried; the message says what to
 * fix) or conflict. git runs with LC_ALL=C, so its messages are the English ones below.
 *
 * Order matters: permanent patterns are checked first, because git often adds a
 * generic line ("Could not read from remote repository", "remote end hung up") after
 * the real reason ("Permission denied (publickey)", "access denied or repository not
 * exported").
 */
import { redactUrls } from '../shared/redact.js';
import { CoordinatorError, GitLockedError, RemoteAccessError, RemoteUnavailableError, SyncFailedError } from '../shared/errors.js';
import { GitError } from './git-error.js';
import { remoteSaidText } from './remote-said.js';

export type FailureClass = 'auth' | 'not-found' | 'bad-remote' | 'network' | 'locked' | 'conflict' | 'unknown';

interface Rule {
  cls: Exclude<FailureClass, 'unknown'>;
  pattern: RegExp;
}

/** Checked top to bottom; the first match wins. */
export const FAILURE_TABLE: readonly Rule[] = [
  // permanent: authentication
  { cls: 'auth', pattern: /Authentication failed/i },
  { cls: 'auth', pattern: /Permission denied \((publickey|password|keyboard-interactive)/i },
  { cls: 'auth', pattern: /could not read (Username|Password) for/i },
  { cls: 'auth', pattern: /terminal prompts disabled/i },
  { cls: 'auth', pattern: /Host key verification failed/i },
  { cls: 'auth', pattern: /HTTP Basic: Access denied/i },
  { cls: 'auth', pattern: /Invalid username or (password|token)/i },
  { cls: 'auth', pattern: /The requested URL returned error: 40[13]\b/ },
  // permanent: the repository is not there
  { cls: 'not-found', pattern: /access denied or repository not exported/i },
  { cls: 'not-found', pattern: /Repository not found/i },
  { cls: 'not-found', pattern: /does not appear to be a git repository/i },
  { cls: 'not-found', pattern: /repository '[^']*' not found/i },
  { cls: 'not-found', pattern: /The requested URL returned error: 404\b/ },
  { cls: 'not-found', pattern: /No such repository/i },
  // permanent: an unusable remote URL or configuration
  { cls: 'bad-remote', pattern: /protocol '[^']*' is not supported/i },
  { cls: 'bad-remote', pattern: /Unable to find remote helper/i },
  { cls: 'bad-remote', pattern: /transport '[^']*' not allowed/i },
  { cls: 'bad-remote', pattern: /URL using bad\/illegal format/i },
  { cls: 'bad-remote', pattern: /No such remote/i },
  { cls: 'bad-remote', pattern: /strange hostname '[^']*' blocked/i },
  { cls: 'bad-remote', pattern: /Port number ended with/i },
  { cls: 'bad-remote', pattern: /Bad port/i },
  // conflicts (decided structurally from `ls-files -u`; this only names the failure)
  { cls: 'conflict', pattern: /^CONFLICT \(/m },
  // transient: another git holds a lock file
  { cls: 'locked', pattern: /Unable to create '[^']*\.lock': File exists/i },
  { cls: 'locked', pattern: /Another git process seems to be running/i },
  { cls: 'locked', pattern: /cannot lock ref/i },
  // transient: the network
  { cls: 'network', pattern: /Could not resolve host/i },
  { cls: 'network', pattern: /Could not resolve hostname/i },
  { cls: 'network', pattern: /unable to look up/i },
  { cls: 'network', pattern: /Temporary failure in name resolution/i },
  { cls: 'network', pattern: /Name or service not known/i },
  { cls: 'network', pattern: /Connection refused/i },
  { cls: 'network', pattern: /Connection timed out/i },
  { cls: 'network', pattern: /Operation timed out/i },
  { cls: 'network', pattern: /Connection reset by peer/i },
  { cls: 'network', pattern: /Network is unreachable/i },
  { cls: 'network', pattern: /No route to host/i },
  { cls: 'network', pattern: /unable to connect to/i },
  { cls: 'network', pattern: /Failed to connect to/i },
  { cls: 'network', pattern: /remote end hung up/i },
  { cls: 'network', pattern: /early EOF/i },
  { cls: 'network', pattern: /RPC failed/i },
  { cls: 'network', pattern: /unexpected disconnect/i },
  { cls: 'network', pattern: /The requested URL returned error: 5\d\d\b/ },
  { cls: 'network', pattern: /(SSL|TLS|GnuTLS).*(recv|read|connect|handshake)/i },
  { cls: 'network', pattern: /Empty reply from server/i },
  { cls: 'network', pattern: /Broken pipe/i },
  { cls: 'network', pattern: /expected flush after ref listing/i },
];

/** Classify a failed git command from its output (pure; tested against captured texts). */
export function classifyOutput(text: string): FailureClass {
  for (const rule of FAILURE_TABLE) if (rule.pattern.test(text)) return rule.cls;
  return 'unknown';
}

export function classifyGitError(e: GitError, network: boolean): FailureClass {
  // A network command that hit our deadline or was killed by a signal is a network
  // failure; a local one that timed out is not (it says nothing about the remote).
  const cls = classifyOutput(`${e.stderr}\n${e.stdout}`);
  if (cls !== 'unknown') return cls;
  if (network && (e.kind === 'timeout' || e.kind === 'signal')) return 'network';
  return 'unknown';
}

export interface RemoteInfo {
  remote: string;
  url: string | null;
}

/** The last meaningful line(s) git printed, for messages (URLs redacted). */
export function gitSaid(e: GitError): string {
  const lines = `${e.stderr}\n${e.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(hint:|Please make sure you have the correct access rights|and the repository exists\.?)$/i.test(l) && !l.startsWith('hint:'));
  return redactUrls(lines.slice(-2).join(' | ')).slice(0, 300);
}

/**
 * Turn any failure of a git step into a typed CoordinatorError: transient ones carry
 * `retryable: true` (the retry engine asks it), permanent ones say what to fix.
 * Anything that is already a CoordinatorError passes through.
 */
export function toSyncError(e: unknown, opts: { step: string; network: boolean; remote?: RemoteInfo }): unknown {
  if (e instanceof CoordinatorError) return e;
  if (!(e instanceof GitError)) return e;
  if (e.kind === 'aborted') return new SyncFailedError(`sync stopped during ${opts.step} (${e.message})`, { code: 'EABORTED', cause: e });
  if (!opts.network && e.kind === 'signal') {
    // A local git killed by a signal (SIGBUS while it read a file an editor rewrote in
    // place): its lock files are cleaned up by the caller, and the step runs again.
    return new GitLockedError(
      `${opts.step}: git was killed by a signal (${e.message}); its lock files were cleaned up (transient: retried while retries last)`,
      e,
    );
  }
  if (!opts.network && e.kind === 'exit' && /unstable object source data|short read|mmap failed|changed while (?:reading|hashing)/i.test(e.stderr)) {
    // git refuses to record a file that changes while it reads it (an editor saving in
    // place): nothing is wrong but the timing; the step runs again.
    return new GitLockedError(`${opts.step}: a file changed while git read it (git said: ${gitSaid(e)}) (transient: retried while retries last)`, e);
  }
  const cls = classifyGitError(e, opts.network);
  const said = gitSaid(e);
  // The server's own reason (a hook, branch protection, a size limit), when it gave one.
  const remoteReason = remoteSaidText(e.stderr);
  const r = opts.remote;
  const where = r ? `remote "${r.remote}"${r.url ? ` (${redactUrls(r.url)})` : ''}` : 'the remote';
  const setUrl = r ? `git remote set-url ${r.remote} <url>` : 'git remote set-url <remote> <url>';
  switch (cls) {
    case 'auth':
      return new RemoteAccessError(
        `${opts.step}: authentication to ${where} failed (git said: ${said}); fix the credentials for this remote (ssh key / ssh-agent, credential helper or token); sync-coordinator never prompts`,
        {
          code: 'EAUTH',
          hint: 'fix credentials',
          cause: e,
        },
      );
    case 'not-found':
      return new RemoteAccessError(
        `${opts.step}: the repository of ${where} was not found or is not exported (git said: ${said}); check the URL ("${setUrl}") and that the repository exists and you may access it`,
        {
          code: 'ENOTFOUND',
          hint: 'fix the remote URL',
          cause: e,
        },
      );
    case 'bad-remote':
      return new RemoteAccessError(
        `${opts.step}: ${where} cannot be used (git said: ${said}); fix the remote URL ("${setUrl}") or set "remote" in config.json`,
        {
          code: 'EBADREMOTE',
          hint: 'fix the remote URL',
          cause: e,
        },
      );
    case 'network':
      return new RemoteUnavailableError(`${opts.step}: ${where} is unreachable (git said: ${said || e.message})`, e);
    case 'locked':
      return new GitLockedError(`${opts.step}: another git process holds a lock in this repository (git said: ${said}); will retry`, e);
    case 'conflict':
    case 'unknown':
      return new SyncFailedError(
        `${opts.step} failed: ${e.message}${remoteReason && !e.message.includes(remoteReason.slice('the remote said: '.length)) ? `; ${remoteReason}` : ''}`,
        { code: 'EGIT', cause: e },
      );
  }
}
