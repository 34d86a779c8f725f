/**
 * sync-now: a `manual`, `high` request, processed now (waits for the lock), with the
 * pipeline's steps shown as they happen on a terminal, plain lines otherwise.
 */
import { processQueue } from '../../core/coordinator.js';
import { ExitCode } from '../../core/errors.js';
import { enqueue, newRequestId } from '../../core/queue.js';
import { parseText, type SyncRequest } from '../../core/request.js';
import { readResult, type RequestOutcome } from '../../core/results.js';
import { safeValue } from '../../core/sanitize.js';
import type { StepName } from '../../git/pipeline.js';
import type { CommandContext } from '../context.js';

const STEPS: StepName[] = ['preflight', 'commit', 'fetch', 'integrate', 'resolve', 'push', 'verify'];

export async function run(ctx: CommandContext, opts: { json?: boolean; reason?: string }): Promise<number> {
  const reason = parseText('reason', opts.reason ?? 'sync-now');
  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();
  const logger = await ctx.logger();
  const now = Date.now();
  const request: SyncRequest = { id: newRequestId(now), type: 'manual', caller: 'sync-now', priority: 'high', reason, created_at: new Date(now).toISOString(), pid: process.pid };
  // Processed right here before anything is reported: no fsync needed (see enqueue).
  await enqueue(ws.paths.queue, request, { durable: false });
  const progress = createProgress(ctx, opts.json ? 'silent' : process.stdout.isTTY === true ? 'tty' : 'lines');
  const report = await processQueue({ ws, config, logger, caller: 'sync-now', lockTimeoutMs: config.lock_timeout_ms, onStep: progress.step, signal: ctx.signal });
  progress.done();
  // Another process (the daemon) may have served our request while we waited for the lock.
  const outcome: RequestOutcome | null = report.outcomes.get(request.id) ?? (await readResult(ws.paths.results, request.id));
  if (!outcome) {
    if (opts.json) ctx.out(JSON.stringify({ id: request.id, status: 'queued', type: 'manual', priority: 'high', result: null }));
    else ctx.err('sync-now: the request is still queued (another process holds the lock)');
    return ExitCode.lockBusy;
  }
  if (opts.json) {
    ctx.out(JSON.stringify({ id: request.id, status: outcome.status, type: 'manual', priority: 'high', result: outcome.result, op: outcome.op, message: outcome.message }));
  } else {
    const line = `${outcome.result ?? outcome.status}: ${outcome.message}${outcome.op ? ` (op ${outcome.op})` : ''}`;
    (outcome.exit_code === 0 ? ctx.out : ctx.err)(safeValue(line));
  }
  return outcome.status === 'rejected' ? ExitCode.rateLimited : outcome.exit_code;
}

function createProgress(ctx: CommandContext, mode: 'tty' | 'lines' | 'silent') {
  const tty = mode === 'tty';
  let current: StepName | null = null;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  let timer: NodeJS.Timeout | null = null;
  const render = () => {
    if (!current) return;
    const n = STEPS.indexOf(current) + 1;
    process.stdout.write(`\r\x1b[2K${frames[frame++ % frames.length]} [${n}/${STEPS.length}] ${current}`);
  };
  return {
    step(step: StepName) {
      if (tty) {
        if (current) process.stdout.write(`\r\x1b[2K✓ ${current}\n`);
        current = step;
        render();
        timer ??= setInterval(render, 80);
        timer.unref();
      } else if (mode === 'lines') {
        ctx.out(`step: ${step}`);
      }
    },
    done() {
      if (timer) clearInterval(timer);
      if (tty && current) process.stdout.write(`\r\x1b[2K✓ ${current}\n`);
      current = null;
    },
  };
}
