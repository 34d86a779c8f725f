/**
 * Requests the daemon writes for itself (the periodic pull, the watcher's quiet
 * periods, reconcile, a moved remote tip): the same spool file as any caller's, with
 * the reason sanitized, then a wake-up so the loop serves it.
 */
import type { Priority, SyncType } from '../shared/config.js';
import { enqueue, newRequestId } from '../core/queue.js';
import type { SyncRequest } from '../core/request.js';
import { stripControl } from '../shared/sanitize.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/clock.js';

export type EnqueueOwn = (type: SyncType, caller: string, priority: Priority, reason: string) => Promise<void>;

export function createOwnRequests(o: { queueDir: string; clock: Clock; log: Logger; poke: () => void }): EnqueueOwn {
  return async (type, caller, priority, reason) => {
    const t = o.clock.now();
    const req: SyncRequest = {
      id: newRequestId(t),
      type,
      caller,
      priority,
      reason: stripControl(reason).slice(0, 1000),
      created_at: new Date(t).toISOString(),
      pid: process.pid,
    };
    await enqueue(o.queueDir, req);
    o.log.info({ id: req.id, type, priority, caller, reason: req.reason }, 'request queued');
    o.poke();
  };
}
