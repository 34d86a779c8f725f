/**
 * The user daemon (`daemon run --user`, DESIGN.md section 11): one process serving every
 * workspace of workspaces.json. Each workspace runs as its own unit (workspace-unit.ts:
 * its daemon.pid, lock, queue, config, watcher, daemon.log, pull timer and probe,
 * exactly as a per-workspace daemon), and git work across units is capped at
 * `max_parallel_syncs` (the global config.json beside the registry).
 *
 * Isolation: a unit that fails (its directory deleted, a corrupt state file, a hung
 * remote) is recorded in daemon-state.json and in `GET /workspaces`, and only that unit
 * stops or waits; the others keep their own timers. A failed unit is tried again every
 * RETRY_MS while it stays registered. The registry is watched: `add` starts a unit,
 * `remove` stops one (its watcher closes, its daemon.pid goes away).
 */
import { existsSync, watch as fsWatch, promises as fs, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';
import { defaultConfig, loadConfig, type Config } from '../shared/config.js';
import { ExitCode } from '../shared/errors.js';
import { resolveWorkspace, type Workspace } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';
import { readRegistry, type RegistryEntry } from '../shared/registry.js';
import { userPaths, type UserPaths } from '../shared/user-paths.js';
import { createEventBus, type EventBus } from '../shared/events.js';
import type { DaemonApi, DaemonApiFactory, ServedWorkspace, WorkspaceView } from '../core/served.js';
import { createRequestWaiters } from './request-waiters.js';
import { closeControlSocket, listenControlSocket } from './control-socket.js';
import { createDaemonLogger } from './daemon-logger.js';
import type { DaemonHandle, Slots } from './daemon.js';
import { claimPidFile, releasePidFile } from '../core/pidfile.js';
import { createSlots } from './slots.js';
import { runWorkspaceUnit } from './workspace-unit.js';

const RETRY_MS = 30_000;
const REGISTRY_CHECK_MS = 5_000;
const TAKEOVER_TIMEOUT_MS = 60_000;

interface Unit extends ServedWorkspace {
  entry: RegistryEntry;
  abort: AbortController;
  done: Promise<void>;
  retryAt: number;
  state: WorkspaceView;
}

export async function runUserDaemonProcess(o: {
  signal: AbortSignal;
  /** The API on the control socket and the TCP listener (src/api/daemon-api.ts). */
  api: DaemonApiFactory;
  out: (l: string) => void;
  err: (l: string) => void;
  env?: NodeJS.ProcessEnv;
}): Promise<number> {
  const up = userPaths(o.env);
  await fs.mkdir(up.stateDir, { recursive: true, mode: 0o700 });
  const claim = await claimPidFile(up.daemonPid);
  if (!claim.acquired) {
    o.err(`the user daemon already runs (pid ${claim.running.pid}); not starting another`);
    return ExitCode.lockBusy;
  }
  const dlog = await createDaemonLogger({
    stateDir: up.stateDir,
    daemonLog: up.daemonLog,
    coordinatorLog: join(up.stateDir, 'coordinator.log'),
    level: 'info',
    maxSizeMb: 10,
    maxFiles: 5,
  });
  const log = dlog.logger.child({ component: 'user-daemon' });
  const fatal = (err: unknown) => {
    try {
      log.error({ err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'user daemon crashed');
    } catch {
      /* ignore */
    }
    void releasePidFile(up.daemonPid, claim.content).finally(() => process.exit(1));
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  let code = 0;
  try {
    o.out(`running (pid ${process.pid})`);
    await runUserDaemon({ paths: up, signal: o.signal, logger: dlog.logger, api: o.api });
  } catch (e) {
    log.error({ err: e instanceof Error ? e.message : String(e) }, 'user daemon failed');
    code = 1;
  }
  await releasePidFile(up.daemonPid, claim.content).catch(() => false);
  log.info({ exit_code: code }, 'user daemon stopped');
  await dlog.close();
  return code;
}

export interface UserDaemonOptions {
  paths: UserPaths;
  signal: AbortSignal;
  logger: Logger;
  /** The API: routes on the control socket, the TCP listener, an observer per workspace. */
  api: DaemonApiFactory;
  /** The event stream of every workspace (SSE, metrics and webhooks read it). */
  bus?: EventBus;
}

export async function runUserDaemon(o: UserDaemonOptions): Promise<void> {
  const { paths, signal } = o;
  const bus = o.bus ?? createEventBus();
  let api: DaemonApi | null = null;
  const log = o.logger.child({ component: 'user-daemon' });
  const globalConfig = await loadConfig(paths.config).catch((e: unknown) => {
    log.error({ err: errText(e), file: paths.config }, 'the global config.json is invalid; using the defaults');
    return defaultConfig();
  });
  const slots: Slots = createSlots(globalConfig.max_parallel_syncs);
  const units = new Map<string, Unit>();
  const startedAt = new Date().toISOString();

  const saveState = async () => {
    const state = {
      version: 1,
      pid: process.pid,
      started_at: startedAt,
      updated_at: new Date().toISOString(),
      stopped_at: signal.aborted ? new Date().toISOString() : null,
      socket: paths.socket,
      max_parallel_syncs: globalConfig.max_parallel_syncs,
      api: api?.state() ?? null,
      workspaces: [...units.values()].map((u) => u.view()),
    };
    await fs
      .writeFile(paths.daemonState + '.tmp', JSON.stringify(state, null, 2) + '\n')
      .then(() => fs.rename(paths.daemonState + '.tmp', paths.daemonState))
      .catch(() => {});
  };

  function makeUnit(entry: RegistryEntry): Unit {
    let live: { ws: Workspace; config: Config } | null = null;
    const handle: DaemonHandle = {};
    const waiters = createRequestWaiters(() => live?.ws.paths.results ?? null);
    const unit: Unit = {
      entry,
      abort: new AbortController(),
      done: Promise.resolve(),
      retryAt: 0,
      state: { id: entry.id, path: entry.path, status: 'starting', error: null, since: new Date().toISOString() },
      view: () => ({ ...unit.state }),
      live: () => live,
      poke: () => handle.poke?.(),
      wait: (id, onStep, waitSignal) => waiters.wait(id, onStep, waitSignal),
    };
    const setState = (status: WorkspaceView['status'], error: string | null) => {
      unit.state = { ...unit.state, status, error, since: new Date().toISOString() };
      bus.emit('workspace.changed', entry.id, { ...unit.view() });
      void saveState();
    };
    unit.done = (async () => {
      try {
        if (!existsSync(entry.path)) throw new Error(`directory not found: ${entry.path}`);
        const ws = await resolveWorkspace(entry.path);
        const config = await loadConfig(ws.paths.config);
        // The user's global cap wins; per-workspace config keeps every other key.
        const unitSignal = AbortSignal.any([signal, unit.abort.signal]);
        const observer = await api!.observe(entry.id, ws, () => live?.config ?? config);
        const result = await runWorkspaceUnit({
          ws,
          config,
          signal: unitSignal,
          slots,
          handle,
          takeOver: { timeoutMs: TAKEOVER_TIMEOUT_MS, log },
          onStarted: () => {
            live = { ws, config };
            setState('running', null);
            log.info({ id: entry.id, root: ws.root }, 'serving workspace');
          },
          onStep: (step, op) => {
            observer.step(step, op);
            waiters.step(step, op);
          },
          // A waiter gets its answer as soon as its request is settled; the report at the
          // end of the drain is the fallback (a waiter resolves once, whichever comes first).
          onSettled: (outcomes) => {
            waiters.outcomes(outcomes);
          },
          onReport: (report) => {
            observer.report(report);
            waiters.outcomes(report.outcomes.values());
          },
          onProbe: (r) => bus.emit('probe', entry.id, { moved: r.moved, remote_tip: r.remote }),
        });
        live = null;
        if (result.status === 'busy') throw new Error(`another daemon (pid ${result.pid}) serves it and did not stop`);
        if (result.reason !== 'signal' || !unitSignal.aborted)
          throw new Error(result.reason === 'missing' ? `work tree gone: ${entry.path}` : `its daemon loop ended (${result.reason}, exit ${result.exitCode})`);
        setState('stopped', null);
      } catch (e) {
        live = null;
        unit.retryAt = Date.now() + RETRY_MS;
        log.error({ id: entry.id, root: entry.path, err: errText(e), retry_s: RETRY_MS / 1000 }, 'workspace not served; the other workspaces are not affected');
        setState('failed', errText(e));
      }
    })();
    return unit;
  }

  let checking = false;
  let again = false;
  async function syncRegistry(): Promise<void> {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        const reg = await readRegistry(paths.registry);
        const wanted = new Map(reg.workspaces.map((w) => [w.id, w]));
        for (const [id, u] of units) {
          if (wanted.has(id) && !(u.state.status === 'failed' && Date.now() >= u.retryAt)) continue;
          if (!wanted.has(id)) log.info({ id, root: u.entry.path }, 'workspace removed from the registry; stopping its unit');
          u.abort.abort(new Error('removed'));
          await u.done;
          units.delete(id);
        }
        if (signal.aborted) return;
        for (const [id, entry] of wanted) if (!units.has(id)) units.set(id, makeUnit(entry));
        await saveState();
      } while (again && !signal.aborted);
    } finally {
      checking = false;
    }
  }

  const served = { workspaces: () => [...units.values()], byId: (id: string) => units.get(id) };
  const theApi = await o.api({ ...served, bus, logger: log, paths, api: globalConfig.api, onState: () => void saveState() });
  api = theApi;
  const { server, replaced } = await listenControlSocket(paths.runtimeDir, paths.socket, theApi.socketHandler);
  if (replaced) log.warn({ socket: paths.socket }, 'replaced a stale control socket left by a daemon that is gone');
  log.info({ socket: paths.socket, registry: paths.registry, max_parallel_syncs: globalConfig.max_parallel_syncs }, 'user daemon started');

  await syncRegistry();
  let regWatch: FSWatcher | null = null;
  try {
    await fs.mkdir(paths.configDir, { recursive: true, mode: 0o700 });
    regWatch = fsWatch(paths.configDir, (_e, name) => {
      if (name === null || String(name) === basename(paths.registry))
        void syncRegistry().catch((e: unknown) => log.error({ err: errText(e) }, 'cannot read the registry'));
    });
    regWatch.on('error', () => regWatch?.close());
  } catch (e) {
    log.warn({ err: errText(e) }, `cannot watch the registry; it is re-read every ${REGISTRY_CHECK_MS / 1000} s`);
  }
  const timer = setInterval(() => void syncRegistry().catch((e: unknown) => log.error({ err: errText(e) }, 'cannot read the registry')), REGISTRY_CHECK_MS);
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));

  log.info({ reason: errText(signal.reason) }, 'user daemon stopping');
  clearInterval(timer);
  regWatch?.close();
  await closeControlSocket(server, paths.socket);
  await theApi.close();
  while (checking) await new Promise((r) => setTimeout(r, 20));
  await Promise.all([...units.values()].map((u) => u.done));
  await saveState();
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
