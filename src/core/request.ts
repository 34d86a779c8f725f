/**
 * A sync request, validated (invariant 10): the types, priorities and their order.
 */
import { UsageError } from '../shared/errors.js';
import { hasControl } from '../shared/sanitize.js';
import type { Priority, SyncType } from '../shared/config.js';

export const SYNC_TYPES: readonly SyncType[] = ['intelligent-auto', 'smart', 'robust', 'manual', 'post-merge'];
export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'normal', 'low'];

export const DEFAULT_PRIORITY: Record<SyncType, Priority> = {
  'intelligent-auto': 'low',
  smart: 'normal',
  robust: 'normal',
  manual: 'high',
  'post-merge': 'normal',
};

/** Invariant 3: robust > manual > post-merge > smart > intelligent-auto. */
export const TYPE_STRENGTH: Record<SyncType, number> = { robust: 5, manual: 4, 'post-merge': 3, smart: 2, 'intelligent-auto': 1 };
export const PRIORITY_RANK: Record<Priority, number> = { critical: 4, high: 3, normal: 2, low: 1 };

export interface SyncRequest {
  id: string;
  type: SyncType;
  caller: string;
  priority: Priority;
  reason: string;
  created_at: string;
  pid: number;
  /** Set by the processor when a low request waits for the rate-limit window to reset. */
  deferred_until?: string;
  /**
   * Set by request-sync when the rate limit rejected the request at once: the spool file
   * only tells the lock holder to count it; it is never served.
   */
  rejected_at?: string;
}

const MAX_TEXT_BYTES = 1024;

export function parseType(value: string): SyncType {
  if ((SYNC_TYPES as readonly string[]).includes(value)) return value as SyncType;
  throw new UsageError(`unknown sync type ${JSON.stringify(clip(value))}; valid types: ${SYNC_TYPES.join(', ')}`);
}

export function parsePriority(value: string): Priority {
  if ((PRIORITIES as readonly string[]).includes(value)) return value as Priority;
  throw new UsageError(`unknown priority ${JSON.stringify(clip(value))}; valid priorities: ${PRIORITIES.join(', ')}`);
}

/** Callers and reasons: printable text up to 1 KiB; caller also non-empty. */
export function parseText(what: 'caller' | 'reason', value: string): string {
  if (what === 'caller' && value.trim() === '') throw new UsageError('caller must not be empty; name the script or person asking, e.g. "auto-sync"');
  if (hasControl(value)) throw new UsageError(`${what} contains control characters; use printable text only`);
  if (Buffer.byteLength(value, 'utf8') > MAX_TEXT_BYTES)
    throw new UsageError(`${what} is longer than 1 KiB (${Buffer.byteLength(value, 'utf8')} bytes); shorten it`);
  return value;
}

function clip(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean;
}

/** Rebuild a request from a spool file; null when it is not one of ours. */
export function requestFromJson(raw: unknown): SyncRequest | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string' || typeof r.type !== 'string' || typeof r.priority !== 'string') return null;
  if (!(SYNC_TYPES as readonly string[]).includes(r.type) || !(PRIORITIES as readonly string[]).includes(r.priority)) return null;
  const caller = typeof r.caller === 'string' ? r.caller : 'unknown';
  const reason = typeof r.reason === 'string' ? r.reason : '';
  const req: SyncRequest = {
    id: r.id,
    type: r.type as SyncType,
    priority: r.priority as Priority,
    caller: hasControl(caller) ? caller.replace(/[\u0000-\u001f\u007f-\u009f]/g, '') : caller.slice(0, MAX_TEXT_BYTES),
    reason: hasControl(reason) ? reason.replace(/[\u0000-\u001f\u007f-\u009f]/g, '') : reason.slice(0, MAX_TEXT_BYTES),
    created_at: typeof r.created_at === 'string' ? r.created_at : new Date(0).toISOString(),
    pid: typeof r.pid === 'number' ? r.pid : 0,
  };
  if (typeof r.deferred_until === 'string') req.deferred_until = r.deferred_until;
  if (typeof r.rejected_at === 'string') req.rejected_at = r.rejected_at;
  return req;
}
