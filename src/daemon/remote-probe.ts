/**
 * When to ask the remote whether another device moved the branch (DESIGN.md section
 * 11). While the workspace is active (a local change or a sync in the last
 * active_window_s) the scheduler calls this every poll_active_s, and one read-only
 * probe runs (probe.ts); a moved tip enqueues a low-priority smart request. Idle, no
 * probe runs: the periodic pull every pull_interval_s fetches anyway. Nor while a
 * request is pending (its sync fetches) or syncs are paused.
 *
 * The probe is not awaited: a hung remote must not hold the daemon loop; one runs at a
 * time, and shutdown aborts it.
 */
import type { Config } from '../shared/config.js';
import type { QueueEntry } from '../core/queue.js';
import type { Workspace } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/clock.js';
import type { DaemonState } from '../core/daemon-state.js';
import type { ProbeReport, ProbeResult } from './daemon-types.js';
import { errText } from './err-text.js';

/** The last local change or sync: the workspace is "active" for active_window_s after it. */
export interface Activity {
  mark(): void;
  last(): number;
}

export function createActivity(clock: Clock): Activity {
  let at = clock.now();
  return {
    mark: () => {
      at = clock.now();
    },
    last: () => at,
  };
}

export interface RemoteProbe {
  /** One probe if the workspace is active, nothing is pending, syncs are not paused and no probe runs. */
  maybeProbe(t: number, pending: QueueEntry[]): void;
  /** Abort a probe in flight (shutdown). */
  close(): void;
}

export function createRemoteProbe(o: {
  ws: Workspace;
  config: Config;
  clock: Clock;
  signal: AbortSignal;
  log: Logger;
  state: Pick<DaemonState, 'paused_reason'>;
  activity: Activity;
  probe: (ws: Workspace, config: Config, signal: AbortSignal) => Promise<ProbeResult>;
  /** After every probe that answered. */
  onProbe?: (r: ProbeReport) => void;
  /** The tip moved: request a sync (not called once the loop stops). */
  onMoved: () => Promise<void>;
  stopping: () => boolean;
}): RemoteProbe {
  const { clock, log } = o;
  const activeMs = o.config.active_window_s * 1000;
  const abort = new AbortController();
  const probeSignal = AbortSignal.any([o.signal, abort.signal]);
  let probing = false;
  return {
    maybeProbe(t, pending) {
      if (probing || o.state.paused_reason) return;
      if (t - o.activity.last() > activeMs) return; // idle: the pull_interval_s pull covers it
      if (pending.length > 0) return; // the next sync fetches anyway
      probing = true;
      void o
        .probe(o.ws, o.config, probeSignal)
        .then(async (r) => {
          try {
            o.onProbe?.({ at: clock.now(), moved: r.moved, remote: r.remote, local: r.local });
          } catch (e) {
            log.warn({ err: errText(e) }, 'a probe listener failed');
          }
          if (!r.moved || o.stopping()) return;
          log.info({ remote_tip: r.remote, tracking: r.local }, 'the remote branch moved; requesting a sync');
          await o.onMoved();
        })
        .catch((e: unknown) => log.debug({ err: errText(e) }, 'remote probe failed'))
        .finally(() => {
          probing = false;
        });
    },
    close: () => abort.abort(),
  };
}
