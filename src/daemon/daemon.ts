/**
 * The daemon loop (`daemon run`). One per workspace (daemon.pid, claimed by the caller).
 *
 * - Processes the queue every `process_interval_s`, and at once when a request file
 *   appears in the spool (fs.watch on `queue/`, debounced a few ms). A request written
 *   while a sync runs is served right after it (processQueue re-checks after releasing
 *   the lock, and the watch event wakes this loop again).
 * - Every `pull_interval_s` enqueues a `smart` request (caller `daemon:pull`, priority
 *   low: deferred, never rejected, by the rate limit) unless a request is already
 *   pending, so other devices' changes arrive without a local edit.
 * - Runs the file watcher when `watch.enabled`; each quiet period enqueues one
 *   `intelligent-auto` request. inotify can drop events, so each cycle also checks
 *   `git status` and enqueues one itself when the tree is dirty and nothing is pending.
 * - Health checks every `health_interval_s` (health.ts); while it processes, a watchdog
 *   aborts our own operation once it runs longer than `stuck_timeout_s` (the pipeline
 *   restores what it started) and records it.
 * - Rotates coordinator.log by size. Writes daemon-state.json.
 * - Re-reads config.json when it changes (watched, and checked each cycle): a valid
 *   change ends this loop after the current sync with reason 'reload', and the caller
 *   runs it again with the new config (same process and daemon.pid); an invalid one is
 *   logged and shown, and the daemon keeps its running config. A removed state
 *   directory is restored at once (the watches see it go).
 * - Never dies of a transient error or a corrupt file: it logs and tries again next cycle.
 *
 * Shutdown (the `signal`): stop taking work, abort the current step, let processQueue
 * release the lock, close the watcher, remove the pid file, log. The caller then closes
 * the logger and exits.
 */
import { watch as fsWatch, existsSync, promises as fs, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Config, Priority, SyncType } from '../core/config.js';
import { processQueue, type ProcessReport } from '../core/coordinator.js';
import { backoffFor, bypassesBackoff } from '../core/failure-record.js';
import { SyncFailedError } from '../core/errors.js';
import { enqueue, newRequestId, readQueue, type QueueEntry } from '../core/queue.js';
import type { SyncRequest } from '../core/request.js';
import { stripControl } from '../core/sanitize.js';
import { readState } from '../core/state.js';
import { ensureStateDir, STATE_DIR_REL, type Workspace } from '../core/workspace.js';
import { parseStatusZ } from '../git/status.js';
import type { Logger } from '../log.js';
import type { StepName } from '../git/pipeline.js';
import { probeRemoteTip } from './probe.js';
import { daemonStatePath, writeDaemonState, type DaemonState, type StuckRecord, type WatcherView } from './daemon-state.js';
import { checkDisk, lowDiskMessage, runHealthCheck, type HealthDeps } from './health.js';
import { rotateBySize } from './log-rotate.js';
import { pidFileOwnership, removeStalePidFile, releasePidFile, restorePidFile } from './pidfile.js';

/** What the daemon needs from watcher/ (loaded lazily: chokidar costs start-up time and memory). */
export interface RunningWatcherLike {
  close(): Promise<void>;
  state(): WatcherView;
  ready: Promise<void>;
}
export interface WatcherModule {
  startWatcher(opts: {
    root: string;
    stateDirRel: string;
    debounceMs: number;
    maxWaitMs: number;
    ignore: string[];
    logger: Logger;
    onQuiet: (info: { changes: number; paths: string[] }) => Promise<void> | void;
  }): RunningWatcherLike;
  /** Same ignore rules as the watcher, for the git status reconciliation. */
  ignores?(root: string, globs: string[]): (relPath: string) => boolean;
}

/**
 * Integration point with watcher/ (built separately): the module that exports
 * `startWatcher`. A missing or broken module is logged and the daemon runs without
 * a watcher (the periodic pull still commits local changes).
 */
export async function loadWatcherModule(): Promise<WatcherModule> {
  const mod = await import('../../watcher/watcher.js');
  let ignores: WatcherModule['ignores'];
  try {
    const ig = await import('../../watcher/ignore.js');
    ignores = (root, globs) => {
      const filter = ig.createIgnoreFilter({ root, stateDirRel: STATE_DIR_REL, globs });
      return (rel) => filter.ignoresRelative(rel);
    };
  } catch {
    ignores = undefined;
  }
  return { startWatcher: (opts) => mod.startWatcher(opts), ...(ignores ? { ignores } : {}) };
}

export interface DaemonOptions {
  ws: Workspace;
  config: Config;
  logger: Logger;
  /** Shutdown: SIGTERM/SIGINT/SIGHUP. */
  signal: AbortSignal;
  /** Our daemon.pid text (the caller claimed it), for the self-check and removal. */
  pidContent: string;
  /** Default: loadWatcherModule. */
  loadWatcher?: () => Promise<WatcherModule>;
  health?: HealthDeps;
  /** The logger's own failure (daemon.log transport), shown in daemon-state.json. */
  logError?: () => string | null;
  /** Called each cycle: re-create daemon.log if it was deleted under us. */
  reopenLog?: () => Promise<boolean>;
  /**
   * Reads config.json again (default: not watched). When it differs from `config` and is
   * valid, the loop ends with reason 'reload' and the new config, keeping daemon.pid, so
   * that the caller runs the daemon again with it; an invalid one is logged and shown
   * (config_error) and the daemon keeps its running config.
   */
  reloadConfig?: () => Promise<Config>;
  now?: () => number;
  /**
   * The user daemon's global cap on git work across workspaces (max_parallel_syncs):
   * a processQueue runs only while it holds a slot. Absent: no cap (one workspace).
   */
  slots?: Slots;
  /** Each pipeline step of a sync this loop runs (the control socket streams them). */
  onStep?: (step: StepName, op: string) => void;
  /** After each processQueue: the outcomes, for callers waiting on the control socket. */
  onReport?: (report: ProcessReport) => void;
  /** Filled in by the loop: wake it now (a request written through the control socket). */
  handle?: DaemonHandle;
  /** Remote probe (DESIGN.md section 11); default: `git ls-remote` (probeRemoteTip). */
  probe?: (ws: Workspace, config: Config, signal: AbortSignal) => Promise<ProbeResult>;
}

export interface Slots {
  acquire(signal: AbortSignal): Promise<() => void>;
}

export interface DaemonHandle {
  poke?: () => void;
}

export type ProbeResult = { moved: boolean; remote: string | null; local: string | null };

export interface DaemonResult {
  exitCode: number;
  reason: 'signal' | 'superseded' | 'hung' | 'reload' | 'missing';
  /** With reason 'reload': the config to run with next. */
  config?: Config;
}

/** After an abort (shutdown or stuck op), how long processQueue may take to unwind. */
const UNWIND_GRACE_MS = 30_000;
const QUEUE_DEBOUNCE_MS = 15;
const MAX_SLEEP_MS = 3_600_000;
const MAX_RECONCILE_BACKOFF_MS = 15 * 60_000;
const WATCHER_CLOSE_TIMEOUT_MS = 10_000;
/** Quiet time after a burst of work before the idle collection (see idleCollector). */
const IDLE_GC_DELAY_MS = 2_000;

export async function runDaemon(o: DaemonOptions): Promise<DaemonResult> {
  const { ws, config, signal } = o;
  const now = o.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  const log = o.logger.child({ component: 'daemon' });
  const coordLog = o.logger.child({ component: 'coordinator' });
  const stateFile = daemonStatePath(ws.paths.dir);
  const processMs = config.process_interval_s * 1000;
  const pullMs = config.pull_interval_s * 1000; // 0 = no periodic pull
  const healthMs = config.health_interval_s * 1000;
  const stuckMs = config.stuck_timeout_s * 1000;
  const maxLogBytes = config.log.max_size_mb * 1024 * 1024;

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
  let result: DaemonResult = { exitCode: 0, reason: 'signal' };
  let stopping = false;
  const stop = (r: DaemonResult) => {
    if (!stopping) result = r;
    stopping = true;
    wake.poke();
  };

  const wake = createWake();
  const onAbort = () => {
    log.info({ reason: String((signal.reason as Error | undefined)?.message ?? signal.reason) }, 'daemon stopping');
    stopping = true;
    wake.poke();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  if (o.handle) o.handle.poke = () => wake.poke();

  // ---- the spool and config.json watches ------------------------------------------------
  let housekeepingDue = false;
  let pokeTimer: NodeJS.Timeout | null = null;
  const pokeSoon = () => {
    if (pokeTimer) return;
    pokeTimer = setTimeout(() => {
      pokeTimer = null;
      if (!stopping) wake.poke();
    }, QUEUE_DEBOUNCE_MS);
  };
  const queueWatch = dirWatch(ws.paths.queue, 'the queue directory', 'requests are served every process_interval_s', (n) => {
    if (n !== null && (!n.endsWith('.json') || n.startsWith('.'))) return;
    if (n !== null && !existsSync(join(ws.paths.queue, n))) return; // a served request going away
    pokeSoon();
  });
  const configName = basename(ws.paths.config);
  const configWatch = o.reloadConfig
    ? dirWatch(dirname(ws.paths.config), 'the state directory', 'config.json changes are noticed every process_interval_s', (n) => {
        if (n === null || n === configName) pokeSoon();
      })
    : null;
  const ensureWatches = async () => {
    await queueWatch.ensure();
    await configWatch?.ensure();
  };
  const closeWatches = () => {
    if (pokeTimer) clearTimeout(pokeTimer);
    pokeTimer = null;
    queueWatch.close();
    configWatch?.close();
  };

  /** fs.watch on a directory, re-created by ensure() when it broke or the directory was replaced. */
  function dirWatch(dir: string, what: string, fallback: string, onName: (name: string | null) => void) {
    let current: { close(): void; ino: number; broken: boolean } | null = null;
    return {
      async ensure(): Promise<void> {
        let ino: number;
        try {
          ino = (await fs.stat(dir)).ino;
        } catch {
          return;
        }
        if (current && !current.broken && current.ino === ino) return;
        current?.close();
        let w: FSWatcher;
        try {
          w = fsWatch(dir, { persistent: true }, (_event, name) => {
            // The directory itself went away (`git clean -fdx`): restore the state
            // directory now rather than at the next process_interval_s.
            if (!existsSync(dir)) {
              housekeepingDue = true;
              pokeSoon();
              return;
            }
            onName(name === null ? null : String(name));
          });
        } catch (e) {
          log.warn({ err: errText(e) }, `cannot watch ${what}; ${fallback}`);
          current = null;
          return;
        }
        const handle = { close: () => w.close(), ino, broken: false };
        w.on('error', (e) => {
          log.warn({ err: errText(e) }, `watch of ${what} failed; re-creating it next cycle`);
          handle.broken = true;
          w.close();
          wake.poke();
        });
        current = handle;
      },
      close(): void {
        current?.close();
        current = null;
      },
    };
  }

  // ---- requests of our own ------------------------------------------------------------
  async function enqueueOwn(type: SyncType, caller: string, priority: Priority, reason: string): Promise<void> {
    const t = now();
    const req: SyncRequest = {
      id: newRequestId(t),
      type,
      caller,
      priority,
      reason: stripControl(reason).slice(0, 1000),
      created_at: new Date(t).toISOString(),
      pid: process.pid,
    };
    await enqueue(ws.paths.queue, req);
    log.info({ id: req.id, type, priority, caller, reason: req.reason }, 'request queued');
    wake.poke();
  }

  const idleGc = idleCollector(IDLE_GC_DELAY_MS);
  /** The last local change or sync: the workspace is "active" for active_window_s after it. */
  let lastActivity = now();

  // ---- the watcher ------------------------------------------------------------------
  let watcher: RunningWatcherLike | null = null;
  let ignoresPath: ((rel: string) => boolean) | null = null;
  if (config.watch.enabled) {
    try {
      const mod = await (o.loadWatcher ?? loadWatcherModule)();
      ignoresPath = mod.ignores?.(ws.root, config.watch.ignore) ?? null;
      watcher = mod.startWatcher({
        root: ws.root,
        stateDirRel: STATE_DIR_REL,
        debounceMs: config.debounce_ms,
        maxWaitMs: config.max_wait_ms,
        ignore: config.watch.ignore,
        logger: o.logger.child({ component: 'watcher' }),
        onQuiet: async (info) => {
          if (stopping) return;
          lastActivity = now();
          await enqueueOwn('intelligent-auto', 'watcher', 'low', `${info.changes} change(s) settled`);
        },
      });
      void watcher.ready.then(() => {
        log.info({ mode: watcher?.state().mode }, 'watcher ready');
        idleGc.soon(); // the initial scan is the start-up's largest burst
      });
    } catch (e) {
      state.watcher_error = `watcher unavailable: ${errText(e)}`;
      log.error({ err: errText(e) }, 'cannot start the file watcher; running without it (periodic pulls still sync local changes)');
      watcher = null;
    }
  }

  async function save(): Promise<void> {
    state.updated_at = iso();
    state.watcher = watcher ? safeWatcherState(watcher) : null;
    state.log_error = o.logError?.() ?? null;
    try {
      await writeDaemonState(stateFile, state);
    } catch (e) {
      log.warn({ err: errText(e) }, 'cannot write daemon-state.json');
    }
  }

  // ---- health -------------------------------------------------------------------------
  let forceProcess = false;
  async function health(): Promise<void> {
    const h = await runHealthCheck(ws, config, o.health);
    state.last_health = h;
    setDiskPause(h.disk);
    if (h.lock.stale) {
      log.warn({ owner_pid: h.lock.owner_pid, owner_caller: h.lock.owner_caller }, 'the lock is held by a dead owner; taking it over to recover');
      forceProcess = true;
    }
    if (!h.git.ok) log.error({ check: h.git.check, err: h.git.error }, 'git integrity check failed; run "git fsck" and see "sync-coordinator doctor"');
    if (h.ok) log.debug({ disk_free_mb: mb(h.disk.free_bytes), git: h.git.check, git_ms: h.git.ms }, 'health check ok');
    else log.warn({ problems: h.problems }, 'health check found problems');
  }
  function setDiskPause(disk: { ok: boolean; free_bytes: number | null; min_free_bytes: number }): void {
    if (!disk.ok) {
      const reason = lowDiskMessage({ ...disk, error: null });
      if (!state.paused_reason) log.warn({ free_mb: mb(disk.free_bytes), min_mb: mb(disk.min_free_bytes) }, reason);
      state.paused_reason = reason;
    } else if (state.paused_reason) {
      log.info({ free_mb: mb(disk.free_bytes) }, 'disk space recovered; syncs resume');
      state.paused_reason = null;
      wake.poke();
    }
  }

  // ---- housekeeping each process interval -----------------------------------------------
  async function housekeeping(): Promise<void> {
    // The work tree itself is gone (deleted, unmounted): never re-create its state
    // directory (ensureStateDir would make the whole path again). The caller reports it.
    if (!existsSync(ws.gitDir)) {
      log.error({ root: ws.root }, 'the work tree is gone; this workspace stops being served');
      stop({ exitCode: 1, reason: 'missing' });
      return;
    }
    const own = await pidFileOwnership(ws.paths.daemonPid, o.pidContent);
    if (own === 'other-live') {
      log.error({}, 'another daemon owns daemon.pid now; this one stops');
      stop({ exitCode: 4, reason: 'superseded' });
      return;
    }
    if (own !== 'ours') {
      await ensureStateDir(ws);
      if (own === 'other-stale') await removeStalePidFile(ws.paths.daemonPid);
      if (await restorePidFile(ws.paths.daemonPid, o.pidContent)) log.warn({ was: own }, 'daemon.pid was missing or replaced; restored it');
    }
    await ensureStateDir(ws).catch((e: unknown) => log.warn({ err: errText(e) }, 'state directory unusable'));
    if (await o.reopenLog?.().catch(() => false)) log.warn({ file: ws.paths.daemonLog }, 'daemon.log was deleted or had failed; reopened it');
    await ensureWatches();
    if (await rotateBySize(ws.paths.coordinatorLog, maxLogBytes, config.log.max_files).catch(() => false))
      log.info({ file: ws.paths.coordinatorLog }, 'rotated coordinator.log');
    if (state.paused_reason) setDiskPause(await checkDisk(ws.root, o.health));
  }

  // ---- config.json changes ---------------------------------------------------------------
  // Checked on every cycle (each process_interval_s, each request, and each event of the
  // state directory's watch naming config.json) by its stat signature; parsed only when
  // that changes. The first check always parses, so a change made between the caller's
  // load and our start is not missed.
  let configSeen: string | null = null;
  async function checkConfig(): Promise<void> {
    if (!o.reloadConfig) return;
    const sig = await fs.stat(ws.paths.config).then(
      (st) => `${st.ino}:${st.size}:${st.mtimeMs}`,
      (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? 'absent' : `error:${e.code ?? ''}`),
    );
    if (sig === configSeen) return;
    configSeen = sig;
    let next: Config;
    try {
      next = await o.reloadConfig();
    } catch (e) {
      if (state.config_error !== errText(e))
        log.error({ err: errText(e) }, 'config.json changed but is not valid; the daemon keeps its running configuration until it is fixed');
      state.config_error = errText(e);
      return;
    }
    if (state.config_error) log.info({}, 'config.json is valid again');
    state.config_error = null;
    if (isDeepStrictEqual(next, config)) return;
    log.info({ changed: changedKeys(config, next) }, 'config.json changed; restarting the daemon loop with it (after the current sync)');
    stop({ exitCode: 0, reason: 'reload', config: next });
  }

  // ---- reconcile: inotify can drop events -----------------------------------------------
  let reconcileBackoff = 0;
  let nextReconcile = 0;
  async function reconcile(pending: QueueEntry[]): Promise<void> {
    if (!watcher || state.paused_reason || now() < nextReconcile) return;
    const w = safeWatcherState(watcher);
    if (w.pending > 0) return; // the watcher has it in hand
    if (w.lastEventAt && now() - Date.parse(w.lastEventAt) < config.debounce_ms + 1000) return;
    if (pending.length > 0) return;
    if ((await readState(ws.paths.state, null)).paused) return; // a conflict waits for the user
    const out = (await ws.git.run(['status', '--porcelain', '-z', '--untracked-files=normal'], { readOnly: true, timeoutMs: 60_000 })).stdout;
    const dirty = parseStatusZ(out)
      .map((e) => e.path)
      .filter((p) => !(ignoresPath?.(p) ?? false));
    // An edit that arrived while git status ran belongs to the watcher's quiet period.
    const after = safeWatcherState(watcher);
    if (after.pending > 0 || after.lastEventAt !== w.lastEventAt) return;
    if (dirty.length === 0) {
      reconcileBackoff = 0;
      nextReconcile = 0;
      return;
    }
    // Still dirty after our last request was served: it failed; do not hammer.
    reconcileBackoff = reconcileBackoff === 0 ? processMs : Math.min(reconcileBackoff * 2, MAX_RECONCILE_BACKOFF_MS);
    nextReconcile = now() + reconcileBackoff;
    log.info({ dirty: dirty.length, first: dirty.slice(0, 3) }, 'work tree has changes the watcher did not report; requesting a sync');
    await enqueueOwn('intelligent-auto', 'daemon:reconcile', 'low', `${dirty.length} unsynced change(s) found by git status`);
  }

  // ---- processing -----------------------------------------------------------------------
  let busyBackoff = 0;
  let nextProcessRetry = Infinity;
  let backoffLogged: string | null = null;
  async function processIfDue(entries: QueueEntry[]): Promise<void> {
    if (state.paused_reason) return;
    const t = now();
    const due = entries.filter(
      (e) => (e.request as { rejected_at?: string }).rejected_at || !e.request.deferred_until || Date.parse(e.request.deferred_until) <= t,
    );
    if (due.length === 0 && !forceProcess) {
      const until = Math.min(...entries.map((e) => Date.parse(e.request.deferred_until ?? '') || Infinity));
      nextProcessRetry = until;
      return;
    }
    // Issue 12: the same failure again (a rejecting hook, no signing key) is not re-run
    // every cycle; automatic requests wait, exponentially, up to pull_interval_s.
    const backoff = backoffFor((await readState(ws.paths.state, null)).last_failure, config, t);
    if (backoff && !due.some((e) => bypassesBackoff(e.request))) {
      if (backoffLogged !== backoff.until)
        log.warn({ until: backoff.until, failures: backoff.failures }, `backing off until ${backoff.until} after ${backoff.reason}`);
      backoffLogged = backoff.until;
      nextProcessRetry = Date.parse(backoff.until);
      return;
    }
    backoffLogged = null;
    forceProcess = false;
    const report = await processWithWatchdog();
    if (report === 'hung') {
      log.error(
        { grace_ms: UNWIND_GRACE_MS },
        'an aborted sync did not stop; exiting so that the lock is freed (its owner is then dead) and a supervisor can restart the daemon',
      );
      stop({ exitCode: 1, reason: 'hung' });
      return;
    }
    if (!report.acquired) {
      busyBackoff = Math.min(Math.max(1000, busyBackoff * 2), processMs);
      nextProcessRetry = now() + busyBackoff;
      log.debug({ retry_ms: busyBackoff }, 'lock busy; its holder serves the queue, checking again later');
    } else {
      busyBackoff = 0;
      nextProcessRetry = Infinity;
    }
    if (report.batches.length > 0) lastActivity = now();
    try {
      o.onReport?.(report);
    } catch (e) {
      log.warn({ err: errText(e) }, 'a control-socket waiter failed');
    }
    state.last_process = { at: iso(), batches: report.batches.length, results: report.batches.map((b) => b.result ?? b.outcome), busy: !report.acquired };
    if (report.batches.length > 0) idleGc.soon();
  }

  async function processWithWatchdog(): Promise<ProcessReport | 'hung'> {
    if (!o.slots) return processHeld();
    let release: (() => void) | null = null;
    try {
      release = await o.slots.acquire(signal);
    } catch {
      return { acquired: false, batches: [], outcomes: new Map() }; // shutting down
    }
    try {
      return await processHeld();
    } finally {
      release();
    }
  }

  async function processHeld(): Promise<ProcessReport | 'hung'> {
    const stuck = new AbortController();
    const opSignal = AbortSignal.any([signal, stuck.signal]);
    const watchdog = setInterval(() => void checkStuck(stuck), Math.min(5000, Math.max(250, Math.floor(stuckMs / 4))));
    let hangTimer: NodeJS.Timeout | undefined;
    let onOpAbort: (() => void) | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      onOpAbort = () => (hangTimer = setTimeout(() => resolve('hung'), UNWIND_GRACE_MS));
      if (opSignal.aborted) onOpAbort();
      else opSignal.addEventListener('abort', onOpAbort, { once: true });
    });
    const run = processQueue({ ws, config, logger: coordLog, caller: 'daemon', lockTimeoutMs: 0, signal: opSignal, ...(o.onStep ? { onStep: o.onStep } : {}) });
    run.catch(() => {}); // if it is abandoned as hung, its late failure must not crash us
    try {
      return await Promise.race([run, hung]);
    } finally {
      clearInterval(watchdog);
      clearTimeout(hangTimer);
      if (onOpAbort) opSignal.removeEventListener('abort', onOpAbort);
    }
  }

  async function checkStuck(stuck: AbortController): Promise<void> {
    if (stuck.signal.aborted) return;
    const active = (await readState(ws.paths.state, null).catch(() => null))?.active;
    if (!active || active.pid !== process.pid) return;
    const age = now() - Date.parse(active.started_at);
    if (!(age > stuckMs) || stuck.signal.aborted) return;
    const rec: StuckRecord = { op: active.op, type: active.type, step: active.step, started_at: active.started_at, aborted_at: iso() };
    state.last_stuck = rec;
    log.error(
      { op: active.op, step: active.step, running_s: Math.round(age / 1000), stuck_timeout_s: config.stuck_timeout_s },
      'operation stuck; aborting it (the pipeline restores what it started)',
    );
    stuck.abort(
      new SyncFailedError(`operation ${active.op} stuck in step ${active.step} for more than ${config.stuck_timeout_s} s; aborted by the daemon`, {
        code: 'ESTUCK',
      }),
    );
    void save();
  }

  // ---- the loop -------------------------------------------------------------------------
  await ensureWatches();
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

  let nextTick = now();
  let nextHealth = now();
  let nextPull = pullMs > 0 ? now() : Infinity;
  const probeMs = config.poll_active_s * 1000;
  const activeMs = config.active_window_s * 1000;
  let nextProbe = now() + probeMs;
  let probing = false;
  const probeAbort = new AbortController();
  const probeSignal = AbortSignal.any([signal, probeAbort.signal]);
  /**
   * Changes from other devices within seconds: while the workspace is active, one
   * read-only `git ls-remote` of the branch every poll_active_s; a moved tip enqueues a
   * low-priority smart request. Not awaited: a hung remote must not hold this loop.
   */
  function probeIfDue(t: number, pending: QueueEntry[]): void {
    if (probing || t < nextProbe || pullMs === 0 || state.paused_reason) return;
    nextProbe = t + probeMs;
    if (t - lastActivity > activeMs) return; // idle: the pull_interval_s pull covers it
    if (pending.length > 0) return; // the next sync fetches anyway
    probing = true;
    void (o.probe ?? probeRemoteTip)(ws, config, probeSignal)
      .then(async (r) => {
        if (!r.moved || stopping) return;
        log.info({ remote_tip: r.remote, tracking: r.local }, 'the remote branch moved; requesting a sync');
        await enqueueOwn('smart', 'daemon:probe', 'low', 'remote branch moved');
      })
      .catch((e: unknown) => log.debug({ err: errText(e) }, 'remote probe failed'))
      .finally(() => (probing = false));
  }
  while (!stopping && !signal.aborted) {
    const woken = wake.take();
    const t = now();
    const tick = t >= nextTick;
    try {
      await checkConfig();
      if (stopping) break;
      if (t >= nextHealth) {
        nextHealth = t + healthMs;
        await health();
      }
      if (tick || housekeepingDue) {
        if (tick) nextTick = t + processMs;
        housekeepingDue = false;
        await housekeeping();
      }
      if (stopping || signal.aborted) break;
      let entries = await readQueue(ws.paths.queue, log);
      const pending = entries.filter((e) => !(e.request as { rejected_at?: string }).rejected_at);
      if (t >= nextPull) {
        nextPull = t + pullMs;
        if (pending.length === 0 && !state.paused_reason) await enqueueOwn('smart', 'daemon:pull', 'low', 'periodic pull');
      } else if (tick) {
        await reconcile(pending);
      }
      probeIfDue(t, pending);
      if (wake.take() || woken || tick || forceProcess || t >= nextProcessRetry) {
        entries = await readQueue(ws.paths.queue, log);
        await processIfDue(entries);
      }
      state.last_cycle_at = iso();
    } catch (e) {
      log.error({ err: errText(e) }, 'daemon cycle failed; trying again next cycle');
    }
    await save();
    if (stopping || signal.aborted) break;
    const next = Math.min(nextTick, nextHealth, nextPull, nextProcessRetry, pullMs > 0 ? nextProbe : Infinity);
    await wake.wait(Math.min(MAX_SLEEP_MS, Math.max(0, next - now())), signal);
  }

  // ---- shutdown -------------------------------------------------------------------------
  idleGc.cancel();
  probeAbort.abort();
  signal.removeEventListener('abort', onAbort);
  closeWatches();
  if (watcher) {
    const closed = await withTimeout(
      watcher.close().then(
        () => true,
        () => true,
      ),
      WATCHER_CLOSE_TIMEOUT_MS,
    );
    if (!closed) log.warn({ timeout_ms: WATCHER_CLOSE_TIMEOUT_MS }, 'watcher did not close in time');
  }
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

interface Wake {
  poke(): void;
  take(): boolean;
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

/** A level-triggered wake-up: a poke while the loop is busy is not lost. */
function createWake(): Wake {
  let pending = false;
  let resolveWait: (() => void) | null = null;
  return {
    poke() {
      pending = true;
      const r = resolveWait;
      resolveWait = null;
      r?.();
    },
    take() {
      const p = pending;
      pending = false;
      return p;
    },
    wait(ms, signal) {
      if (pending || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolveWait = null;
          resolve();
        };
        const timer = setTimeout(done, ms);
        resolveWait = done;
        signal.addEventListener('abort', done, { once: true });
      });
    },
  };
}

/**
 * One full garbage collection once a burst of work (start-up, a sync) has been followed
 * by `delayMs` of quiet. V8 collects the old generation when allocation pushes it to
 * its limit, and an idle daemon allocates next to nothing, so what a burst leaves
 * there can stay resident for hours. The collection frees it, and V8's memory reducer,
 * which a full collection arms, returns the emptied pages some seconds later.
 * Measured (10,000 watched files), 20 s after a sync of all 10,000 files rewritten:
 * 57-58 MB RSS with it, 60-64 MB without (the first such sync settled at 51-52 MB
 * either way). After start-up it mattered with TurboFan on
 * (3 starts in 15 kept 4-6 MB of garbage: 62 instead of 56 MB); with --no-opt no start
 * in 10 did, and it is kept there as the same cheap insurance. It costs a few ms of
 * CPU once per burst. `gc` exists only with --expose-gc (DAEMON_NODE_FLAGS); without
 * it this does nothing.
 */
function idleCollector(delayMs: number): { soon(): void; cancel(): void } {
  const gc = (globalThis as { gc?: () => void }).gc;
  let timer: NodeJS.Timeout | null = null;
  const cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  return {
    soon() {
      if (!gc) return;
      cancel();
      timer = setTimeout(() => {
        timer = null;
        gc();
      }, delayMs);
      timer.unref();
    },
    cancel,
  };
}

function safeWatcherState(w: RunningWatcherLike): WatcherView {
  try {
    return w.state();
  } catch (e) {
    return { mode: 'unknown', watching: false, pending: 0, lastEventAt: null, lastFireAt: null, error: errText(e) };
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Top-level config keys whose values differ, for the reload log line. */
function changedKeys(a: Config, b: Config): string[] {
  return (Object.keys(b) as (keyof Config)[]).filter((k) => !isDeepStrictEqual(a[k], b[k]));
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function mb(bytes: number | null): number | null {
  return bytes === null ? null : Math.floor(bytes / (1024 * 1024));
}
