/**
 * Where a queued request stands, answered once for the processor, the daemon's
 * scheduling, `status` and `doctor`:
 * - `rejected`: the rate limit rejected it at once when it was enqueued; its spool file
 *   is only there to be counted in the stats, never served;
 * - `deferred`: a `low` request waiting in the queue for the rate-limit window to reset
 *   (invariant 6);
 * - `due`: the next sync serves it.
 */
import type { SyncRequest } from './request.js';

export type Admission = 'due' | 'deferred' | 'rejected';

type Marks = Pick<SyncRequest, 'deferred_until' | 'rejected_at'>;

export function admission(r: Marks, now: number): Admission {
  if (r.rejected_at) return 'rejected';
  if (r.deferred_until && Date.parse(r.deferred_until) > now) return 'deferred';
  return 'due';
}

/** A processor has something to do for it: serve it (due) or count it (rejected). */
export function needsProcessor(r: Marks, now: number): boolean {
  return admission(r, now) !== 'deferred';
}

/** When the first deferred request becomes due (Infinity when none is deferred). */
export function nextDueAt(requests: Marks[]): number {
  return Math.min(...requests.map((r) => Date.parse(r.deferred_until ?? '') || Infinity));
}

export function countAdmissions(requests: Marks[], now: number): Record<Admission, number> {
  const counts: Record<Admission, number> = { due: 0, deferred: 0, rejected: 0 };
  for (const r of requests) counts[admission(r, now)]++;
  return counts;
}
