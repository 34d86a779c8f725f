/**
 * `sync-coordinator watch` minus the CLI: watch until told to stop. The caller owns the
 * signal (SIGINT/SIGTERM, or the daemon's shutdown) and the `onQuiet` that enqueues an
 * `intelligent-auto` request.
 */
import { once } from 'node:events';
import { startWatcher, type WatcherDeps, type WatcherOptions } from './watcher.js';

export async function runWatch(opts: WatcherOptions & { signal: AbortSignal }, deps: WatcherDeps = {}): Promise<void> {
  const { signal, ...watcherOpts } = opts;
  if (signal.aborted) return;
  const watcher = startWatcher(watcherOpts, deps);
  opts.logger.info({ root: opts.root, mode: watcher.state().mode }, `watching ${opts.root}`);
  try {
    if (!signal.aborted) await once(signal, 'abort');
  } finally {
    // close() waits for a running onQuiet, so a request being enqueued is not cut off.
    await watcher.close();
  }
  opts.logger.info({ root: opts.root }, 'watcher stopped');
}
