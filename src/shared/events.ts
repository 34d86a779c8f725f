/**
 * The user daemon's event bus: one ordered stream of what happens in every workspace it
 * serves. The SSE route (`GET /api/v1/events`), the metrics and the webhooks all read
 * this one stream, so they never disagree about what happened.
 *
 * Ids are consecutive integers from 1 for the life of the process. A bounded ring keeps
 * the newest events, so a client that reconnects with `Last-Event-ID` gets what it
 * missed, or learns (`since` returns null) that the gap is older than the ring and it
 * must reload its state.
 */

/** Webhooks can name each type (config-schema.ts takes this list). */
export const EVENT_TYPES = [
  /** A request was written to a workspace's queue. data: {request_id, type, priority, caller, reason} */
  'request.queued',
  /** A sync entered a step. data: {op, step} */
  'step.started',
  /**
   * A sync ended. data: {op, type, result, message, duration_ms, request_ids, requests_by_caller?, retries?, retries_by_step?}
   * requests_by_caller: caller -> count of the requests it served; retries: in-run retries it made (retries_by_step: per step)
   */
  'sync.finished',
  /** A conflict was handled (copy, ours, auto-merge) or left for the user. data: {op, path, policy, copy?} */
  'conflict',
  /** A remote's circuit breaker changed state. data: {remote, from, to, open_until} */
  'breaker.changed',
  /** A request was refused by the hourly rate limit. data: {request_id, status (rejected or deferred), caller?, used, limit, resets_at} */
  'ratelimit.hit',
  /** Another device force-pushed; it was followed and the dropped commits kept. data: {op, old, new, backup_ref} */
  'remote.rewritten',
  /** A workspace's unit changed status (starting, running, failed, stopped) or was paused/resumed. data: the workspace view */
  'workspace.changed',
  /** A remote probe (ls-remote) ran. data: {moved, remote_tip}; moved = the remote tip differs from the local tracking ref */
  'probe',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export interface BusEvent {
  id: number;
  type: EventType;
  /** ISO time the daemon saw it. */
  time: string;
  /** The workspace id (registry id), or null for daemon-wide events. */
  workspace: string | null;
  data: Record<string, unknown>;
}

export type Listener = (event: BusEvent) => void;

export interface EventBus {
  emit(type: EventType, workspace: string | null, data: Record<string, unknown>): BusEvent;
  /** Returns the unsubscribe function. A listener that throws is dropped, never the emitter's problem. */
  subscribe(listener: Listener): () => void;
  /** Events after `lastId`, oldest first; null when some of them have left the ring. */
  since(lastId: number): BusEvent[] | null;
  /** The newest id handed out (0 before the first event). */
  lastId(): number;
}

export const DEFAULT_RING_SIZE = 1000;

export function createEventBus(o: { ringSize?: number; clock?: () => number } = {}): EventBus {
  const size = Math.max(1, o.ringSize ?? DEFAULT_RING_SIZE);
  const clock = o.clock ?? Date.now;
  const ring: BusEvent[] = [];
  const listeners = new Set<Listener>();
  let next = 1;

  return {
    emit(type, workspace, data) {
      const event: BusEvent = { id: next++, type, time: new Date(clock()).toISOString(), workspace, data };
      ring.push(event);
      if (ring.length > size) ring.shift();
      for (const l of [...listeners]) {
        try {
          l(event);
        } catch {
          // A broken subscriber (a closed SSE socket, a bug in a webhook filter) must not
          // stop the others or the sync that emitted the event.
          listeners.delete(l);
        }
      }
      return event;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    since(lastId) {
      const newest = next - 1;
      if (lastId >= newest) return [];
      const oldest = ring[0]?.id ?? next;
      if (lastId + 1 < oldest) return null;
      return ring.filter((e) => e.id > lastId);
    },
    lastId: () => next - 1,
  };
}
