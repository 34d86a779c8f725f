/**
 * doctor: checks git, identity, the remote (bounded time), branch, the user's git
 * operations, hooks, daemon, inotify limits, disk space and the state directory; one
 * line per check with the fix. Exit 0 when nothing failed, else 1 (6 outside a git work
 * tree, as every command). Changes nothing.
 */
import { runDoctor } from '../../doctor/run-doctor.js';
import { humanReport, jsonReport } from '../../doctor/format.js';
import { ExitCode } from '../../shared/errors.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const report = await runDoctor({ cwd: ctx.cwd });
  if (opts.json) {
    const obj = JSON.parse(jsonReport(report.ok, report.checks)) as Record<string, unknown>;
    ctx.out(JSON.stringify(report.stopped ? { ...obj, stopped: report.stopped } : obj));
  } else {
    for (const line of humanReport(report.checks)) ctx.out(line);
    if (report.stopped) ctx.out(`stopped: ${report.stopped}`);
  }
  if (report.notGitRepo) return ExitCode.notGitRepo;
  return report.ok ? ExitCode.ok : ExitCode.syncFailed;
}
