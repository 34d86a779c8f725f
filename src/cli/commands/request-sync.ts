/**
 * request-sync <type> <caller> [priority] [reason]: write a spool file (never waits on
 * the lock), then, unless --enqueue-only or a daemon runs, serve the queue in this
 * process if the lock is free. The enqueue path avoids pino and zod (start-up budget).
 */
import { ExitCode } from '../../shared/errors.js';
import { newRequestId, enqueue } from '../../core/queue.js';
import { decide, rateLimitMessage } from '../../core/rate-limit.js';
import { DEFAULT_PRIORITY, parsePriority, parseText, parseType, type SyncRequest } from '../../core/request.js';
import { readResult, type RequestOutcome } from '../../core/results.js';
import { printRequest } from '../../client/request-print.js';
import { readState } from '../../shared/state.js';
import { appendLogLine } from '../../shared/log.js';
import type { CommandContext } from '../context.js';

interface Opts {
  enqueueOnly?: boolean;
  wait?: boolean;
  timeout: number;
  json?: boolean;
}

export async function run(
  ctx: CommandContext,
  typeArg: string,
  callerArg: string,
  priorityArg: string | undefined,
  reasonArgs: string[] | undefined,
  opts: Opts,
): Promise<number> {
  // Invariant 8: called from inside a sync (our own git fired a hook): do nothing.
  if (process.env.CLAUDE_SYNC_ACTIVE === '1') return 0;
  const type = parseType(typeArg);
  const caller = parseText('caller', callerArg);
  const priority = priorityArg === undefined ? DEFAULT_PRIORITY[type] : parsePriority(priorityArg);
  const reason = parseText('reason', (reasonArgs ?? []).join(' '));
  const timeoutS = opts.timeout;

  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();
  const now = Date.now();
  const request: SyncRequest = { id: newRequestId(now), type, caller, priority, reason, created_at: new Date(now).toISOString(), pid: process.pid };

  // Rate limit "at once" (invariant 6): normal (and high past the burst) is rejected
  // here, without waiting for a processor. The spool file still records it, marked, so
  // the lock holder counts it in the stats.
  const decision = decide(config, (await readState(ws.paths.state, null)).rate_limit, priority, now);
  if (!decision.allowed && decision.action === 'reject') {
    request.rejected_at = new Date(now).toISOString();
    await enqueue(ws.paths.queue, request);
    const message = rateLimitMessage(decision.used, decision.limit, decision.resetsAt, priority, config.burst_capacity);
    appendLogLine(ws.paths.coordinatorLog, 'warn', { id: request.id, type, priority, caller }, `request rejected: ${message}`);
    printRequest(ctx.out, ctx.err, opts, request, { status: 'rejected', result: null, message, resets_at: decision.resetsAt });
    return ExitCode.rateLimited;
  }

  await enqueue(ws.paths.queue, request);
  appendLogLine(ws.paths.coordinatorLog, 'info', { id: request.id, type, priority, caller, reason }, 'request queued');

  let outcome: Pick<RequestOutcome, 'status' | 'result' | 'message'> & { exit_code?: number; resets_at?: string | null } = {
    status: 'queued',
    result: null,
    message: 'queued',
  };
  if (!opts.enqueueOnly) {
    const { readDaemonInfo } = await import('../../core/pidfile.js');
    const daemon = await readDaemonInfo(ws.paths.daemonPid);
    if (!daemon.running) {
      const { processQueue } = await import('../../core/coordinator.js');
      const logger = await ctx.logger();
      const report = await processQueue({ ws, config, logger, caller, lockTimeoutMs: 0, signal: ctx.signal });
      const mine = report.outcomes.get(request.id);
      if (mine) outcome = mine;
    } else {
      outcome.message = `queued for the daemon (pid ${daemon.pid})`;
    }
  }
  if (opts.wait && (outcome.status === 'queued' || outcome.status === 'deferred')) {
    const waited = await waitForResult(ws.paths.results, request.id, timeoutS * 1000);
    if (waited) outcome = waited;
    else {
      printRequest(ctx.out, ctx.err, opts, request, { ...outcome, message: `still queued after ${timeoutS} s (another sync holds the lock)` });
      return ExitCode.lockBusy;
    }
  }
  printRequest(ctx.out, ctx.err, opts, request, outcome);
  if (outcome.status === 'rejected') return ExitCode.rateLimited;
  return outcome.exit_code ?? 0;
}

async function waitForResult(dir: string, id: string, timeoutMs: number): Promise<RequestOutcome | null> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    const r = await readResult(dir, id);
    if (r && r.status !== 'deferred') return r;
    if (Date.now() >= deadline) return null;
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 500);
  }
}
