import { processQueue, type ProcessReport } from '../../core/coordinator.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean; quiet?: boolean }): Promise<number> {
  if (process.env.CLAUDE_SYNC_ACTIVE === '1') return 0;
  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();
  const logger = await ctx.logger();
  const report = await processQueue({ ws, config, logger, caller: 'process', lockTimeoutMs: config.lock_timeout_ms, signal: ctx.signal });
  printReport(ctx, report, opts);
  return worstExit(report);
}

export function worstExit(report: ProcessReport): number {
  // A failure in any batch is the command's failure; conflicts and rejections keep their codes.
  const codes = report.batches.map((b) => b.exitCode).filter((c) => c !== 0);
  return codes.length ? (codes.includes(1) ? 1 : codes[codes.length - 1]!) : 0;
}

function printReport(ctx: CommandContext, report: ProcessReport, opts: { json?: boolean; quiet?: boolean }): void {
  if (opts.json) {
    ctx.out(
      JSON.stringify({
        batches: report.batches.map((b) => ({
          op: b.op,
          type: b.type,
          priority: b.priority,
          requests: b.requestIds.length,
          outcome: b.outcome,
          result: b.result,
          message: b.message,
        })),
      }),
    );
    return;
  }
  if (report.batches.length === 0) {
    if (!opts.quiet) ctx.out('queue empty: nothing to do');
    return;
  }
  for (const b of report.batches) {
    const line = `${b.op ? `op ${b.op}` : b.outcome}: ${b.type} (${b.priority}) for ${b.requestIds.length} request(s): ${b.result ?? b.outcome}; ${b.message}`;
    if (b.exitCode !== 0) ctx.err(line);
    else if (!opts.quiet) ctx.out(line);
  }
}
