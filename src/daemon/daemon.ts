/**
 * The daemon loop (`daemon run`) for one workspace: composes the parts and runs them
 * on the scheduler until shutdown. One per workspace (daemon.pid, claimed by the caller).
 *
 * - The queue is served every `process_interval_s` and at once when a request file
 *   appears (spool-watch.ts); a request written while a sync runs is served right after
 *   it (queue-processor.ts, under the slot cap and the stuck-operation watchdog).
 * - Every `pull_interval_s` a `smart` request (caller `daemon:pull`, priority low:
 *   deferred, never rejected, by the rate limit) unless a request is already pending,
 *   so other devices' changes arrive without a local edit; while the workspace is
 *   active, a remote probe every `poll_active_s` brings them sooner (remote-probe.ts).
 * - The file watcher (daemon-watcher.ts) turns each quiet period into one
 *   `intelligent-auto` request; reconcile.ts catches what inotify dropped.
 * - Health checks every `health_interval_s` (daemon-health.ts), housekeeping each
 *   process interval (housekeeping.ts: pid file, state directory, logs, watches).
 * - config.json changes end the loop with reason 'reload' (config-reload.ts) and the
 *   caller runs it again with the new config, same process and daemon.pid.
 * - Never dies of a transient error or a corrupt file: it logs and tries again next cycle.
 * - Writes daemon-state.json after every cycle.
 *
 * Shutdown (the `signal`): stop taking work, abort the current step, let processQueue
 * release the lock, close the watcher, remove the pid file, log. The caller then closes
 * the logger and exits.
 */
import { admission } from '../core/admission.js';
import { type QueueEntry, readQueue } from '../core/queue.js';
import { systemClock } from '../shared/clock.js';
import { createConfigReload } from './config-reload.js';
import { createDaemonHealth } from './daemon-health.js';
import { daemonStatePath, type DaemonState, writeDaemonState } from '../core/daemon-state.js';
import type { DaemonOptions, DaemonResult } from './daemon-types.js';
import { type DaemonWatcher, startDaemonWatcher } from './daemon-watcher.js';
import { errText } from './err-text.js';
import { createHousekeeping } from './housekeeping.js';
import { idleCollector } from './idle-gc.js';
import { createOwnRequests } from './own-requests.js';
import { releasePidFile } from '../core/pidfile.js';
import { probeRemoteTip } from './probe.js';
import { createQueueProcessor } from './queue-processor.js';
import { createReconcile } from './reconcile.js';
import { createActivity, createRemoteProbe } from './remote-probe.js';
import { createScheduler, type Scheduler } from './scheduler.js';
import { createSpoolWatch } from './spool-watch.js';
import { createWake } from './wake.js';

export type { DaemonHandle, DaemonOptions, DaemonResult, Slots } from './daemon-types.js';

export async function runDaemon(o: DaemonOptions): Promise<DaemonResult> {
  const { ws, config, signal } = o;
  const clock = o.clock ?? systemClock;
  const iso = () => new Date(clock.now()).toISOString();
  const log = o.logger.child({ component: 'daemon' });
  const state: DaemonState = {
    version: 1,
    pid: process.pid,
    started_at: iso(),
    updated_at: iso(),
    stopped_at: null,
    watcher: null,
    watcher_error: null,
    last_cycle_at: null,
    last_process: null,
    last_health: null,
    last_stuck: null,
    paused_reason: null,
    log_error: null,
    config_error: null,
  };

  const wake = createWake(clock);
  // Created once its parts exist; a signal before that ends the loop before its first cycle.
  let scheduler: Scheduler | null = null;
  let result: DaemonResult = { exitCode: 0, reason: 'signal' };
  let stopping = false;
  const stop = (r?: DaemonResult) => {
    if (!stopping && r) result = r;
    stopping = true;
    if (scheduler) scheduler.stop();
    else wake.poke();
  };
  const onAbort = () => {
    log.info({ reason: String((signal.reason as Error | undefined)?.message ?? signal.reason) }, 'daemon stopping');
    stop();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  if (o.handle) o.handle.poke = () => wake.poke();

  const spool = createSpoolWatch({
    queueDir: ws.paths.queue,
    configFile: o.reloadConfig ? ws.paths.config : null,
    clock,
    log,
    poke: () => wake.poke(),
    housekeepingSoon: () => scheduler?.housekeepingSoon(),
    active: () => !stopping,
  });
  const enqueueOwn = createOwnRequests({ queueDir: ws.paths.queue, clock, log, poke: () => wake.poke() });
  const idleGc = idleCollector();
  const activity = createActivity(clock);

  const started = await startDaemonWatcher({
    ws,
    config,
    logger: o.logger,
    ...(o.loadWatcher ? { load: o.loadWatcher } : {}),
    state,
    onQuiet: async (changes) => {
      if (stopping) return;
      activity.mark();
      await enqueueOwn('intelligent-auto', 'watcher', 'low', `${changes} change(s) settled`);
    },
    onReady: (w) => {
      log.info({ mode: w.state().mode }, 'watcher ready');
      idleGc.soon(); // the initial scan is the start-up's largest burst
    },
  });

  let watcher: DaemonWatcher | null = started;
  const stateFile = daemonStatePath(ws.paths.dir);
  async function save(): Promise<void> {
    state.updated_at = iso();
    state.watcher = watcher ? watcher.state() : null;
    state.log_error = o.logError?.() ?? null;
    try {
      await writeDaemonState(stateFile, state);
    } catch (e) {
      log.warn({ err: errText(e) }, 'cannot write daemon-state.json');
    }
  }

  const processor = createQueueProcessor({
    ws,
    config,
    clock,
    signal,
    log,
    coordLog: o.logger.child({ component: 'coordinator' }),
    state,
    ...(o.slots ? { slots: o.slots } : {}),
    ...(o.onStep ? { onStep: o.onStep } : {}),
    ...(o.onReport ? { onReport: o.onReport } : {}),
    ...(o.onSettled ? { onSettled: o.onSettled } : {}),
    activity,
    afterWork: () => idleGc.soon(),
    stop,
    save,
  });
  const health = createDaemonHealth({
    ws,
    config,
    ...(o.health ? { deps: o.health } : {}),
    log,
    state,
    forceProcess: () => processor.force(),
    poke: () => wake.poke(),
  });
  const reload = o.reloadConfig
    ? createConfigReload({
        file: ws.paths.config,
        running: config,
        load: o.reloadConfig,
        state,
        log,
        restartWith: (next) => stop({ exitCode: 0, reason: 'reload', config: next }),
      })
    : null;
  const housekeeping = createHousekeeping({
    ws,
    config,
    pidContent: o.pidContent,
    log,
    ...(o.reopenLog ? { reopenLog: o.reopenLog } : {}),
    ensureWatches: () => spool.ensure(),
    recheckDisk: () => health.recheckDisk(),
    stop,
  });
  const reconcile = createReconcile({
    ws,
    config,
    clock,
    log,
    state,
    watcherState: started ? () => started.state() : null,
    ignores: started?.ignores ?? null,
    request: (dirty) => enqueueOwn('intelligent-auto', 'daemon:reconcile', 'low', `${dirty} unsynced change(s) found by git status`),
  });
  const probe = createRemoteProbe({
    ws,
    config,
    clock,
    signal,
    log,
    state,
    activity,
    probe: o.probe ?? probeRemoteTip,
    ...(o.onProbe ? { onProbe: o.onProbe } : {}),
    onMoved: () => enqueueOwn('smart', 'daemon:probe', 'low', 'remote branch moved'),
    stopping: () => stopping,
  });

  const loop = createScheduler({
    clock,
    signal,
    wake,
    intervals: {
      processMs: config.process_interval_s * 1000,
      healthMs: config.health_interval_s * 1000,
      pullMs: config.pull_interval_s * 1000,
      probeMs: config.poll_active_s * 1000,
    },
    parts: {
      checkConfig: async () => reload?.check(),
      health: () => health.run(),
      housekeeping,
      readPending: async () => (await readQueue(ws.paths.queue, log)).filter((e: QueueEntry) => admission(e.request, clock.now()) !== 'rejected'),
      pull: async (pending) => {
        if (pending.length === 0 && !state.paused_reason) await enqueueOwn('smart', 'daemon:pull', 'low', 'periodic pull');
      },
      reconcile,
      probe: (t, pending) => probe.maybeProbe(t, pending),
      process: processor,
      endCycle: async (completed) => {
        if (completed) state.last_cycle_at = iso();
        await save();
      },
      cycleFailed: (e) => log.error({ err: errText(e) }, 'daemon cycle failed; trying again next cycle'),
    },
  });
  scheduler = loop;

  await spool.ensure();
  log.info(
    {
      root: ws.root,
      process_interval_s: config.process_interval_s,
      pull_interval_s: config.pull_interval_s,
      health_interval_s: config.health_interval_s,
      watch: config.watch.enabled,
    },
    'daemon started',
  );
  await save();
  idleGc.soon();
  await loop.run();

  // ---- shutdown -------------------------------------------------------------------------
  idleGc.cancel();
  probe.close();
  signal.removeEventListener('abort', onAbort);
  spool.close();
  await watcher?.close(log);
  watcher = null;
  if (result.reason === 'reload') {
    // The caller runs the loop again at once with the new config: same process, same
    // daemon.pid, and the next state write replaces this one.
    log.info({}, 'daemon loop stopped for the new config');
    return result;
  }
  state.stopped_at = iso();
  await save();
  await releasePidFile(ws.paths.daemonPid, o.pidContent).catch(() => false);
  log.info({ reason: result.reason, exit_code: result.exitCode }, 'daemon stopped');
  return result;
}
