/**
 * sync-now: a `manual`, `high` request, processed now (waits for the lock), with the
 * pipeline's steps shown as they happen on a terminal, plain lines otherwise.
 */
import { processQueue } from '../../core/coordinator.js';
import { ExitCode } from '../../shared/errors.js';
import { enqueue, newRequestId } from '../../core/queue.js';
import { parseText, type SyncRequest } from '../../core/request.js';
import { readResult, type RequestOutcome } from '../../core/results.js';
import { createProgress } from '../../client/progress.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean; reason?: string }): Promise<number> {
  const reason = parseText('reason', opts.reason ?? 'sync-now');
  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();
  const logger = await ctx.logger();
  const now = Date.now();
  const request: SyncRequest = {
    id: newRequestId(now),
    type: 'manual',
    caller: 'sync-now',
    priority: 'high',
    reason,
    created_at: new Date(now).toISOString(),
    pid: process.pid,
  };
  // Processed right here before anything is reported: no fsync needed (see enqueue).
  await enqueue(ws.paths.queue, request, { durable: false });
  const progress = createProgress(ctx.out, opts.json ? 'silent' : process.stdout.isTTY === true ? 'tty' : 'lines');
  const report = await processQueue({
    ws,
    config,
    logger,
    caller: 'sync-now',
    lockTimeoutMs: config.lock_timeout_ms,
    onStep: progress.step,
    signal: ctx.signal,
  });
  progress.done();
  // Another process (the daemon) may have served our request while we waited for the lock.
  const outcome: RequestOutcome | null = report.outcomes.get(request.id) ?? (await readResult(ws.paths.results, request.id));
  if (!outcome) {
    if (opts.json) ctx.out(JSON.stringify({ id: request.id, status: 'queued', type: 'manual', priority: 'high', result: null }));
    else ctx.err('sync-now: the request is still queued (another process holds the lock)');
    return ExitCode.lockBusy;
  }
  if (opts.json) {
    ctx.out(
      JSON.stringify({
        id: request.id,
        status: outcome.status,
        type: 'manual',
        priority: 'high',
        result: outcome.result,
        op: outcome.op,
        message: outcome.message,
      }),
    );
  } else {
    const line = `${outcome.result ?? outcome.status}: ${outcome.message}${outcome.op ? ` (op ${outcome.op})` : ''}`;
    (outcome.exit_code === 0 ? ctx.out : ctx.err)(line);
  }
  return outcome.status === 'rejected' ? ExitCode.rateLimited : outcome.exit_code;
}
