/**
 * Housekeeping each process interval (and at once when the state directory goes
 * away): the work tree still exists, daemon.pid is still ours (restored when missing
 * or replaced by a dead daemon's; another live daemon's means we stop), the state
 * directory and daemon.log exist, the directory watches are alive, coordinator.log is
 * rotated by size, and a disk pause is re-checked.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../shared/config.js';
import { ensureStateDir, type Workspace } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';
import type { DaemonResult } from './daemon-types.js';
import { errText } from './err-text.js';
import { rotateBySize } from '../shared/log-rotate.js';
import { pidFileOwnership, removeStalePidFile, restorePidFile } from '../core/pidfile.js';

export function createHousekeeping(o: {
  ws: Workspace;
  config: Config;
  pidContent: string;
  log: Logger;
  reopenLog?: () => Promise<boolean>;
  ensureWatches: () => Promise<void>;
  recheckDisk: () => Promise<void>;
  stop: (r: DaemonResult) => void;
}): () => Promise<void> {
  const { ws, config, log } = o;
  const maxLogBytes = config.log.max_size_mb * 1024 * 1024;
  return async () => {
    // The work tree itself is gone (deleted, unmounted): never re-create its state
    // directory (ensureStateDir would make the whole path again). The caller reports it.
    if (!existsSync(ws.gitDir)) {
      log.error({ root: ws.root }, 'the work tree is gone; this workspace stops being served');
      o.stop({ exitCode: 1, reason: 'missing' });
      return;
    }
    const own = await pidFileOwnership(ws.paths.daemonPid, o.pidContent);
    if (own === 'other-live') {
      log.error({}, 'another daemon owns daemon.pid now; this one stops');
      o.stop({ exitCode: 4, reason: 'superseded' });
      return;
    }
    if (own !== 'ours') {
      await ensureStateDir(ws);
      if (own === 'other-stale') await removeStalePidFile(ws.paths.daemonPid);
      if (await restorePidFile(ws.paths.daemonPid, o.pidContent)) log.warn({ was: own }, 'daemon.pid was missing or replaced; restored it');
    }
    await ensureStateDir(ws).catch((e: unknown) => log.warn({ err: errText(e) }, 'state directory unusable'));
    if (await o.reopenLog?.().catch(() => false)) log.warn({ file: ws.paths.daemonLog }, 'daemon.log was deleted or had failed; reopened it');
    await o.ensureWatches();
    if (await rotateBySize(ws.paths.coordinatorLog, maxLogBytes, config.log.max_files).catch(() => false))
      log.info({ file: ws.paths.coordinatorLog }, 'rotated coordinator.log');
    await o.recheckDisk();
  };
}
