/**
 * The shapes a queue drain passes between its parts (coordinator.ts decides, settle.ts
 * records outcomes, sync-batch.ts runs a sync): the caller's options and the report
 * the caller gets back. Kept apart so that the parts depend on these types, not on
 * each other.
 */
import type { Logger } from '../shared/log.js';
import type { StepName } from '../git/sync-context.js';
import type { Config, Priority, SyncType } from '../shared/config.js';
import type { RequestOutcome, RequestResult } from './results.js';
import type { StateStore } from '../shared/state.js';
import type { Workspace } from '../git/workspace.js';

export interface ProcessOptions {
  ws: Workspace;
  config: Config;
  logger: Logger;
  caller: string;
  /** How long to wait for the lock; 0 = one try (request-sync: the holder will serve us). */
  lockTimeoutMs: number;
  /** Progress for sync-now on a terminal. */
  onStep?: (step: StepName, op: string) => void;
  /**
   * Requests settled (results file written, spool file gone), as soon as that is so:
   * a caller waiting on the control socket gets its answer without waiting for the
   * rest of the drain (the next round, the lock's release).
   */
  onSettled?: (outcomes: RequestOutcome[]) => void;
  clock?: () => number;
  signal?: AbortSignal;
}

export interface BatchReport {
  op: string | null;
  type: SyncType;
  priority: Priority;
  requestIds: string[];
  outcome: RequestOutcome['status'];
  result: RequestResult | null;
  message: string;
  exitCode: number;
  /**
   * Caller -> count of the requests this batch settled, plus those a later round settled
   * as covered by its sync: every request lands in exactly one batch or rejection, so
   * metrics count triggers from here without counting one twice.
   */
  callers: Record<string, number>;
  /** Step -> in-run retries its sync made (empty when none, or when no sync ran). */
  retries: Record<string, number>;
}

/** A finished sync and the moment it read the work tree (requests made before are served by it). */
export interface Covered {
  before: number;
  op: string;
  type: SyncType;
  result: RequestResult;
  message: string;
}

export interface ProcessReport {
  /** False when the lock was busy and lockTimeoutMs was 0. */
  acquired: boolean;
  batches: BatchReport[];
  outcomes: Map<string, RequestOutcome>;
  /** Request id -> caller, for each request this drain settled or deferred (set when the drain settles one). */
  callers?: Map<string, string>;
  /** The last sync this process ran, for serving requests it already covered. */
  covered?: Covered | null;
}

/** One drain under the lock: what every part of it reads and writes. */
export interface Drain {
  opts: ProcessOptions;
  store: StateStore;
  report: ProcessReport;
}

export function nowOf(opts: ProcessOptions): number {
  return (opts.clock ?? Date.now)();
}
