/**
 * The daemon loop's contract with its callers (workspace-unit.ts, the user daemon):
 * options, handle, result. In a module of its own so that the loop's parts can name
 * these types without importing the loop that composes them.
 */
import type { Config } from '../shared/config.js';
import type { ProcessReport } from '../core/coordinator.js';
import type { Workspace } from '../git/workspace.js';
import type { RequestOutcome } from '../core/results.js';
import type { StepName } from '../git/pipeline.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/clock.js';
import type { WatcherModule } from './daemon-watcher.js';
import type { HealthDeps } from './health.js';

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
  /** The loop's time and timers (default: the system clock). */
  clock?: Clock;
  /**
   * The user daemon's global cap on git work across workspaces (max_parallel_syncs):
   * a processQueue runs only while it holds a slot. Absent: no cap (one workspace).
   */
  slots?: Slots;
  /** Each pipeline step of a sync this loop runs (the control socket streams them). */
  onStep?: (step: StepName, op: string) => void;
  /** After each processQueue: the outcomes, for callers waiting on the control socket. */
  onReport?: (report: ProcessReport) => void;
  /** Requests settled during a processQueue, as soon as each is (the waiters' early answer). */
  onSettled?: (outcomes: RequestOutcome[]) => void;
  /** After each remote probe that answered (metrics: probe count, propagation time). */
  onProbe?: (r: ProbeReport) => void;
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

/** A probe's answer and when it came (the loop's clock). */
export type ProbeReport = ProbeResult & { at: number };

export interface DaemonResult {
  exitCode: number;
  reason: 'signal' | 'superseded' | 'hung' | 'reload' | 'missing';
  /** With reason 'reload': the config to run with next. */
  config?: Config;
}
