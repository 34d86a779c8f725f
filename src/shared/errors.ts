/**
 * Every failure the CLI can report is one of these classes. Each carries the exit code
 * of the contract (DESIGN.md section 3) so that only the bin entry turns errors into
 * `process.exitCode`, and a `retryable` flag that the retry engine asks.
 */
export const ExitCode = {
  ok: 0,
  syncFailed: 1,
  usage: 2,
  rateLimited: 3,
  lockBusy: 4,
  conflict: 5,
  notGitRepo: 6,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CoordinatorError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly code: string;
  readonly retryable: boolean;
  constructor(message: string, opts: { exitCode: ExitCodeValue; code: string; retryable?: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode;
    this.code = opts.code;
    this.retryable = opts.retryable ?? false;
  }
}

/** Bad command-line input or invalid config: exit 2, nothing changed. */
export class UsageError extends CoordinatorError {
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.usage, code: 'EUSAGE', cause });
  }
}

export class ConfigError extends CoordinatorError {
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.usage, code: 'ECONFIG', cause });
  }
}

export class NotGitRepoError extends CoordinatorError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.notGitRepo, code: 'ENOTGIT' });
  }
}

/** State directory unusable (symlink, not writable): bad input, exit 2. */
export class StateDirError extends CoordinatorError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.usage, code: 'ESTATEDIR' });
  }
}

export class LockBusyError extends CoordinatorError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.lockBusy, code: 'ELOCKBUSY' });
  }
}

/** The lock was taken from us or removed under us; every later step must stop. */
export class LockLostError extends CoordinatorError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.syncFailed, code: 'ELOCKLOST' });
  }
}

/** The sync stopped on a conflict left for the user (policy `manual`). */
export class ConflictError extends CoordinatorError {
  readonly paths: string[];
  constructor(message: string, paths: string[]) {
    super(message, { exitCode: ExitCode.conflict, code: 'ECONFLICT' });
    this.paths = paths;
  }
}

/** The sync failed; `retryable` tells the retry engine whether another attempt can help. */
export class SyncFailedError extends CoordinatorError {
  constructor(message: string, opts: { code: string; retryable?: boolean; cause?: unknown } = { code: 'ESYNC' }) {
    super(message, { exitCode: ExitCode.syncFailed, code: opts.code, retryable: opts.retryable ?? false, cause: opts.cause });
  }
}

/**
 * The remote could not be reached (network down, connection refused, timeout, remote
 * hung up). Transient: retried with backoff, and each sync that still fails after its
 * retries counts toward the remote's circuit breaker (invariant 7).
 */
export class RemoteUnavailableError extends CoordinatorError {
  /** The sync's local commit landed on the branch before the remote failed. */
  committedLocally = false;
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.syncFailed, code: 'ENETWORK', retryable: true, cause });
  }
}

/** Another git process holds a lock file (`index.lock`, a ref lock): transient, retried. */
export class GitLockedError extends CoordinatorError {
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.syncFailed, code: 'EGITLOCKED', retryable: true, cause });
  }
}

/**
 * The remote refused us for a reason another attempt cannot fix: authentication,
 * repository not found / not exported, an unusable URL. Never retried; the message
 * says what to fix. Does not count toward the breaker.
 */
export class RemoteAccessError extends CoordinatorError {
  readonly hint: string;
  constructor(message: string, opts: { code: 'EAUTH' | 'ENOTFOUND' | 'EBADREMOTE'; hint: string; cause?: unknown }) {
    super(message, { exitCode: ExitCode.syncFailed, code: opts.code, cause: opts.cause });
    this.hint = opts.hint;
  }
}

/** The remote's circuit breaker is open: local changes were committed, fetch/push skipped. */
export class BreakerOpenError extends CoordinatorError {
  readonly openUntil: string | null;
  constructor(message: string, openUntil: string | null) {
    super(message, { exitCode: ExitCode.syncFailed, code: 'EBREAKEROPEN' });
    this.openUntil = openUntil;
  }
}

/** A user's rebase/merge/... is in progress, or HEAD is detached: hands off (invariant 5). */
export class RepoBusyError extends CoordinatorError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.syncFailed, code: 'EREPOBUSY' });
  }
}

/**
 * Git tracks files in the state directory (a commit from another device put them there):
 * they are never used as config, lock or state (invariant 14) until the repository is
 * cleaned. Exit 1, naming the paths.
 */
export class TrackedStateError extends CoordinatorError {
  readonly paths: string[];
  constructor(message: string, paths: string[]) {
    super(message, { exitCode: ExitCode.syncFailed, code: 'ETRACKEDSTATE' });
    this.paths = paths;
  }
}

export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof CoordinatorError ? err.exitCode : ExitCode.syncFailed;
}

/**
 * A command needs the running user daemon (or its API) and it is not there: exit 1, and
 * the message says how to start it.
 */
export class DaemonUnavailableError extends CoordinatorError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.syncFailed, code: 'EDAEMONDOWN' });
  }
}
