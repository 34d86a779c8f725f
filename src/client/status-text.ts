/** `status`'s human lines, from the JSON view (shared with the control-socket client). */
import { hostname } from 'node:os';
import type { StatusView } from '../core/status-view.js';
import { trackedStateMessage } from '../core/tracked-state.js';

export function humanStatus(v: StatusView): string[] {
  const lines: string[] = [];
  const o = v.lock.owner;
  lines.push(`workspace:  ${v.workspace}`);
  lines.push(
    `lock:       ${v.lock.held ? `held by ${o ? `${o.caller} (pid ${o.pid} on ${o.host === hostname() ? 'this device' : o.host}, since ${o.since}${o.op ? `, op ${o.op}` : ''})` : 'an unknown owner'}${v.lock.stale ? ' — STALE (owner is dead; the next sync takes it over)' : ''}` : 'free'}`,
  );
  if (v.active)
    lines.push(
      `active:     ${v.active.type} op ${v.active.op}, step ${v.active.step}, since ${v.active.started_at}${v.active.interrupted ? ' — INTERRUPTED (the next sync recovers it)' : ''}`,
    );
  const bp = v.queue.by_priority;
  lines.push(
    `queue:      ${v.queue.pending} pending (critical ${bp.critical}, high ${bp.high}, normal ${bp.normal}, low ${bp.low})${v.queue.deferred ? `, ${v.queue.deferred} deferred by the rate limit` : ''}`,
  );
  const rl = v.rate_limit;
  lines.push(
    `rate limit: ${rl.enabled ? `${rl.used}/${rl.limit} this hour (+${rl.burst} burst for high)${rl.resets_at ? `, resets at ${rl.resets_at}` : ''}` : 'disabled'}`,
  );
  const s = v.stats;
  lines.push(
    `stats:      ${s.requests} requests, ${s.merged} merged, ${s.syncs_ok} syncs ok, ${s.syncs_failed} failed, ${s.rejected} rejected, ${s.deferred} deferred${s.refused ? `, ${s.refused} refused (your git was busy)` : ''}`,
  );
  if (v.state_file.corrupt)
    lines.push(
      'STATE:      coordinator-state.json is corrupt; these stats are fresh ones. The next sync moves it aside (as coordinator-state.json.corrupt-<time>) and starts over: sync-coordinator process',
    );
  if (v.backoff) lines.push(`backoff:    automatic syncs wait until ${v.backoff.until} ("sync-coordinator sync-now" tries at once) after ${v.backoff.reason}`);
  lines.push(`last sync:  ${s.last_success_at ?? 'never'}${s.last_error ? `; last error: ${s.last_error}` : ''}`);
  lines.push(
    `breaker:    ${v.breaker.state}${v.breaker.failures ? ` (${v.breaker.failures} consecutive network failures)` : ''}${v.breaker.open_until && v.breaker.state === 'open' ? `, remote skipped until ${v.breaker.open_until}` : ''}`,
  );
  lines.push(`daemon:     ${v.daemon.running ? `running (pid ${v.daemon.pid}${v.daemon.since ? `, since ${v.daemon.since}` : ''})` : 'not running'}`);
  if (v.daemon.paused_reason) lines.push(`            syncs paused: ${v.daemon.paused_reason}`);
  if (v.daemon.health && !v.daemon.health.ok) lines.push(`            health (${v.daemon.health.at}): ${v.daemon.health.problems.join('; ')}`);
  const w = v.watcher;
  lines.push(
    `watcher:    ${w ? `${w.watching ? 'watching' : 'stopped'} (${w.mode})${w.pending ? `, ${w.pending} change(s) pending` : ''}${w.last_fire_at ? `, last trigger ${w.last_fire_at}` : ''}${w.error ? `; ${w.error}` : ''}` : v.daemon.running ? 'off (watch.enabled is false)' : 'not running (runs inside the daemon, or "sync-coordinator watch")'}`,
  );
  lines.push(
    `conflicts:  ${v.conflicts.open} open${v.conflicts.open ? ' (see "sync-coordinator conflicts")' : ''}, ${v.conflicts.auto_merged} auto-merged${v.conflicts.auto_merged ? ' (see "sync-coordinator conflicts --merged")' : ''}`,
  );
  if (v.paused) lines.push(`PAUSED:     automatic syncs paused since ${v.paused.since}: ${v.paused.reason}`);
  if (v.tracked_state.length) lines.push(`REFUSING:   ${trackedStateMessage(v.tracked_state)}`);
  if (v.remote_rewrite)
    lines.push(
      `REWRITTEN:  ${v.remote_rewrite.at}: another device force-pushed the branch (${v.remote_rewrite.old.slice(0, 10)} → ${v.remote_rewrite.new.slice(0, 10)}); the sync followed it, the removed commits are kept in ${v.remote_rewrite.backup_ref}`,
    );
  if (v.untracked_state)
    lines.push(
      `UNTRACKED:  ${v.untracked_state.at}: the remote tracked ${v.untracked_state.count} path(s) under the state directory (${v.untracked_state.paths.slice(0, 3).join(', ')}${v.untracked_state.count > 3 ? ', ...' : ''}); never checked out here, and removed from the repository by the sync`,
    );
  for (const h of v.webhooks.hooks) {
    const l = h.last;
    const last = l
      ? `; last: ${l.event} ${l.outcome}${l.status !== null ? ` (HTTP ${l.status})` : ''}${l.status === null && l.error ? ` (${l.error})` : ''}, ${l.tries} tr${l.tries === 1 ? 'y' : 'ies'}, at ${l.time}`
      : '; no deliveries yet';
    lines.push(
      `webhook:    ${h.url} [${h.events.join(', ')}]: ${h.delivered} delivered, ${h.failed} failed, ${h.dropped} dropped (of the last ${h.deliveries.length})${last}`,
    );
  }
  if (v.excluded.length) {
    lines.push(`excluded:   ${v.excluded.length} path(s) not committed by syncs:`);
    for (const e of v.excluded) lines.push(`            ${e.path} (${e.reason}: ${e.detail}; since ${e.since})`);
  }
  return lines;
}
