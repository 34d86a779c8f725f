/**
 * The file watcher as the daemon runs it: loaded lazily (chokidar costs start-up time
 * and memory), started when watch.enabled, each quiet period handed to the caller,
 * its state read without ever throwing, and closed with a time limit. A missing or
 * broken watcher module is recorded (watcher_error) and the daemon runs without it:
 * the periodic pull and reconcile still sync local changes.
 */
import type { Config } from '../shared/config.js';
import { STATE_DIR_REL, type Workspace } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';
import type { RunningWatcher, startWatcher } from '../../watcher/watcher.js';
import type { DaemonState } from '../core/daemon-state.js';
import { errText } from './err-text.js';

/** What the daemon loads from watcher/: its entry point, and the same ignore rules for reconcile. */
export interface WatcherModule {
  startWatcher: typeof startWatcher;
  ignores?(root: string, globs: string[]): (relPath: string) => boolean;
}

export type WatcherStateView = NonNullable<DaemonState['watcher']>;

export const WATCHER_CLOSE_TIMEOUT_MS = 10_000;

export async function loadWatcherModule(): Promise<WatcherModule> {
  const mod = await import('../../watcher/watcher.js');
  let ignores: WatcherModule['ignores'];
  try {
    const ig = await import('../git/ignore.js');
    ignores = (root, globs) => {
      const filter = ig.createIgnoreFilter({ root, stateDirRel: STATE_DIR_REL, globs });
      return (rel) => filter.ignoresRelative(rel);
    };
  } catch {
    ignores = undefined;
  }
  return { startWatcher: (opts, deps) => mod.startWatcher(opts, deps), ...(ignores ? { ignores } : {}) };
}

export interface DaemonWatcher {
  state(): WatcherStateView;
  ignores: ((relPath: string) => boolean) | null;
  close(log: Logger): Promise<void>;
}

/** Null when watch.enabled is false or the watcher could not start (then `state.watcher_error` says why). */
export async function startDaemonWatcher(o: {
  ws: Workspace;
  config: Config;
  logger: Logger;
  load?: () => Promise<WatcherModule>;
  state: Pick<DaemonState, 'watcher_error'>;
  onQuiet: (changes: number) => Promise<void>;
  onReady: (w: DaemonWatcher) => void;
}): Promise<DaemonWatcher | null> {
  const { ws, config } = o;
  if (!config.watch.enabled) return null;
  const log = o.logger.child({ component: 'daemon' });
  try {
    const mod = await (o.load ?? loadWatcherModule)();
    const ignores = mod.ignores?.(ws.root, config.watch.ignore) ?? null;
    const running = mod.startWatcher({
      root: ws.root,
      stateDirRel: STATE_DIR_REL,
      debounceMs: config.debounce_ms,
      maxWaitMs: config.max_wait_ms,
      ignore: config.watch.ignore,
      logger: o.logger.child({ component: 'watcher' }),
      onQuiet: (info) => o.onQuiet(info.changes),
    });
    const w: DaemonWatcher = { state: () => safeState(running), ignores, close: (l) => closeWatcher(running, l) };
    void running.ready.then(() => o.onReady(w));
    return w;
  } catch (e) {
    o.state.watcher_error = `watcher unavailable: ${errText(e)}`;
    log.error({ err: errText(e) }, 'cannot start the file watcher; running without it (periodic pulls still sync local changes)');
    return null;
  }
}

function safeState(w: RunningWatcher): WatcherStateView {
  try {
    return w.state();
  } catch (e) {
    return { mode: 'unknown', watching: false, pending: 0, lastEventAt: null, lastFireAt: null, error: errText(e) };
  }
}

async function closeWatcher(w: RunningWatcher, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), WATCHER_CLOSE_TIMEOUT_MS)));
  const closed = w.close().then(
    () => true,
    () => true,
  );
  try {
    if (!(await Promise.race([closed, timedOut]))) log.warn({ timeout_ms: WATCHER_CLOSE_TIMEOUT_MS }, 'watcher did not close in time');
  } finally {
    clearTimeout(timer);
  }
}
