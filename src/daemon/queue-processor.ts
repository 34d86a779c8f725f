/**
 * Serving the queue from the daemon loop: whether to run processQueue now, and running
 * it under the user daemon's global slot cap and the stuck-operation watchdog.
 *
 * Not now: syncs are paused (low disk), nothing is due yet (retry when the first
 * deferred request comes due), or the last failure repeats and only automatic requests
 * wait (retry when the failure back-off ends: a rejecting hook or a missing signing key
 * is not re-run every cycle). A busy lock is retried with a growing delay up to the
 * process interval: its holder serves the queue anyway.
 */
import { needsProcessor, nextDueAt } from '../core/admission.js';
import type { Config } from '../shared/config.js';
import { type ProcessReport, processQueue } from '../core/coordinator.js';
import { SyncFailedError } from '../shared/errors.js';
import { backoffFor, bypassesBackoff } from '../shared/failure-record.js';
import { type QueueEntry, readQueue } from '../core/queue.js';
import { readState } from '../shared/state.js';
import type { Workspace } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/clock.js';
import type { DaemonState } from '../core/daemon-state.js';
import type { DaemonOptions, DaemonResult } from './daemon-types.js';
import { errText } from './err-text.js';
import type { Activity } from './remote-probe.js';
import type { QueueProcessing } from './scheduler.js';
import { UNWIND_GRACE_MS, runWithWatchdog } from './watchdog.js';

export interface QueueProcessor extends QueueProcessing {
  /** Process at the next cycle whatever is due (a dead owner's lock to take over). */
  force(): void;
}

export function createQueueProcessor(o: {
  ws: Workspace;
  config: Config;
  clock: Clock;
  signal: AbortSignal;
  /** The daemon's log, and the coordinator's (processQueue logs there). */
  log: Logger;
  coordLog: Logger;
  state: Pick<DaemonState, 'paused_reason' | 'last_process' | 'last_stuck'>;
  slots?: DaemonOptions['slots'];
  onStep?: DaemonOptions['onStep'];
  onReport?: DaemonOptions['onReport'];
  onSettled?: DaemonOptions['onSettled'];
  activity: Activity;
  /** After a sync: a full collection once things are quiet. */
  afterWork: () => void;
  stop: (r: DaemonResult) => void;
  save: () => Promise<void>;
}): QueueProcessor {
  const { ws, config, clock, log, state } = o;
  const processMs = config.process_interval_s * 1000;
  const iso = () => new Date(clock.now()).toISOString();
  let forced = false;
  let busyBackoff = 0;
  let retryAt = Infinity;
  let backoffLogged: string | null = null;

  async function runIfDue(entries: QueueEntry[]): Promise<void> {
    if (state.paused_reason) return;
    const t = clock.now();
    const due = entries.filter((e) => needsProcessor(e.request, t));
    if (due.length === 0 && !forced) {
      retryAt = nextDueAt(entries.map((e) => e.request));
      return;
    }
    const backoff = backoffFor((await readState(ws.paths.state, null)).last_failure, config, t);
    if (backoff && !due.some((e) => bypassesBackoff(e.request))) {
      if (backoffLogged !== backoff.until)
        log.warn({ until: backoff.until, failures: backoff.failures }, `backing off until ${backoff.until} after ${backoff.reason}`);
      backoffLogged = backoff.until;
      retryAt = Date.parse(backoff.until);
      return;
    }
    backoffLogged = null;
    forced = false;
    const report = await runInSlot();
    if (report === 'hung') {
      log.error(
        { grace_ms: UNWIND_GRACE_MS },
        'an aborted sync did not stop; exiting so that the lock is freed (its owner is then dead) and a supervisor can restart the daemon',
      );
      o.stop({ exitCode: 1, reason: 'hung' });
      return;
    }
    if (!report.acquired) {
      busyBackoff = Math.min(Math.max(1000, busyBackoff * 2), processMs);
      retryAt = clock.now() + busyBackoff;
      log.debug({ retry_ms: busyBackoff }, 'lock busy; its holder serves the queue, checking again later');
    } else {
      busyBackoff = 0;
      retryAt = Infinity;
    }
    if (report.batches.length > 0) o.activity.mark();
    try {
      o.onReport?.(report);
    } catch (e) {
      log.warn({ err: errText(e) }, 'a control-socket waiter failed');
    }
    state.last_process = { at: iso(), batches: report.batches.length, results: report.batches.map((b) => b.result ?? b.outcome), busy: !report.acquired };
    if (report.batches.length > 0) o.afterWork();
  }

  async function runInSlot(): Promise<ProcessReport | 'hung'> {
    if (!o.slots) return runWatched();
    let release: (() => void) | null = null;
    try {
      release = await o.slots.acquire(o.signal);
    } catch {
      return { acquired: false, batches: [], outcomes: new Map() }; // shutting down
    }
    try {
      return await runWatched();
    } finally {
      release();
    }
  }

  function runWatched(): Promise<ProcessReport | 'hung'> {
    return runWithWatchdog({
      clock,
      signal: o.signal,
      stuckMs: config.stuck_timeout_s * 1000,
      pid: process.pid,
      readActive: async () => (await readState(ws.paths.state, null)).active,
      stuckError: (active) =>
        new SyncFailedError(`operation ${active.op} stuck in step ${active.step} for more than ${config.stuck_timeout_s} s; aborted by the daemon`, {
          code: 'ESTUCK',
        }),
      onStuck: (active, age) => {
        state.last_stuck = { op: active.op, type: active.type, step: active.step, started_at: active.started_at, aborted_at: iso() };
        log.error(
          { op: active.op, step: active.step, running_s: Math.round(age / 1000), stuck_timeout_s: config.stuck_timeout_s },
          'operation stuck; aborting it (the pipeline restores what it started)',
        );
        void o.save();
      },
      run: (signal) =>
        processQueue({
          ws,
          config,
          logger: o.coordLog,
          caller: 'daemon',
          lockTimeoutMs: 0,
          signal,
          ...(o.onStep ? { onStep: o.onStep } : {}),
          ...(o.onSettled ? { onSettled: o.onSettled } : {}),
        }),
    });
  }

  return {
    forced: () => forced,
    force: () => {
      forced = true;
    },
    retryAt: () => retryAt,
    run: async () => runIfDue(await readQueue(ws.paths.queue, log)),
  };
}
