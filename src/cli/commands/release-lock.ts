import { describeOwner, releaseLockFor } from '../../core/lock.js';
import { parseText } from '../../core/request.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, callerArg: string, opts: { force?: boolean; json?: boolean }): Promise<number> {
  const caller = parseText('caller', callerArg);
  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();
  const logger = await ctx.logger();
  const res = await releaseLockFor({ paths: ws.paths, logger, staleMs: config.lock_stale_ms, repo: ws }, caller, !!opts.force);
  if (opts.json)
    ctx.out(
      JSON.stringify({
        released: res.released,
        reason: res.reason,
        owner: res.owner ? { caller: res.owner.caller, pid: res.owner.pid, host: res.owner.host, since: res.owner.since, op: res.owner.op } : null,
      }),
    );
  else ctx.out(res.released ? `released the lock of ${describeOwner(res.owner)} (${res.reason})` : res.reason);
  return 0;
}
