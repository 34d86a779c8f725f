/**
 * What the sync pipeline is given and what it reports back. The coordinator (core/)
 * builds the context and decides policy from the outcome; the pipeline only runs git.
 */
import { hostname } from 'node:os';
import type { ConflictRecord } from './conflict-log.js';
import type { Config, SyncType } from '../shared/config.js';
import type { MovingMarker, StateStore } from '../shared/state.js';
import type { Workspace } from './workspace.js';
import type { Logger } from '../shared/log.js';
import type { Git } from './git.js';
import type { IndexSnapshot } from './index-file.js';
import type { LocalCommit } from './local-commit.js';
import type { StatusEntry } from './status.js';

/**
 * What the remote's circuit breaker allows a sync (invariant 7): `normal` retries, one
 * `single-try` without retries (half-open), or `skip` the remote: commit locally, then
 * stop with BreakerOpenError saying why and until when. The coordinator decides it
 * (core/breaker-policy.ts); the pipeline obeys it, so the type is the pipeline's.
 */
export type RemoteAccess = { kind: 'normal' } | { kind: 'single-try' } | { kind: 'skip'; until: string | null; reason: string };

export type StepName = 'preflight' | 'commit' | 'fetch' | 'integrate' | 'resolve' | 'push' | 'verify';

export interface RecoveryMarker {
  moving: MovingMarker | null;
  branch: string | null;
}

export interface SyncContext {
  ws: Workspace;
  /** coordinator-state.json (exclusions, remote rewrites, backups pruned); we hold the lock, so updates are ours. */
  state: StateStore;
  /** Every command of the op carries the op id and stops when `signal` aborts. */
  git: Git;
  config: Config;
  logger: Logger;
  opId: string;
  type: SyncType;
  /** Device name for commit messages and conflict copies (config `device_name`). */
  device: string;
  /** What the coordinator's circuit breaker allows with the remote for this sync. */
  remoteAccess: RemoteAccess;
  signal: AbortSignal;
  /** Announce a step: persists `active.step` and re-checks lock ownership. */
  step(name: StepName): Promise<void>;
  /** Persist the crash-recovery marker before the sync moves the branch, index and files. */
  mark(marker: RecoveryMarker): Promise<void>;
  /** Wall clock for conflict-copy names and records (default Date.now). */
  clock?: () => number;
  /** A step retried a transient failure (once per retry): the coordinator counts them for the sync's report. */
  retried?: (step: string) => void;
}

export type SyncResult = 'ok' | 'noop' | 'failed' | 'conflict';

export interface SyncOutcome {
  result: SyncResult;
  committed: boolean;
  pulled: boolean;
  pushed: boolean;
  message: string;
  head: string | null;
}

export function deviceName(config: Config): string {
  const raw = config.device_name ?? hostname().split('.')[0] ?? 'device';
  return raw.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'device';
}

/** What one sync has done so far, across its rounds. */
export interface RunState {
  /** The branch's oid as this sync knows it (moves only through move.ts). */
  head: string | null;
  status: StatusEntry[];
  committed: boolean;
  pulled: boolean;
  pushed: boolean;
  records: ConflictRecord[];
  chosenCopies: Set<string>;
  rewrite: { old: string; new: string; backup: string } | null;
  untrackedState: string[];
  /** The optimistic push created the remote branch, which this device had seen before (deleted meanwhile). */
  recreated?: boolean;
  /** The sync's own commit, not yet on the branch (the branch moves once, at the end). */
  pending?: { from: string | null; local: LocalCommit; userIndex: IndexSnapshot; staged: string[] } | null;
}
