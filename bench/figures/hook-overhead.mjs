// Hook overhead (issue 5: at most 5 ms): median fast-forward `git merge` with our hooks
// installed minus the same merge without them, interleaved. A daemon is "running" (a
// pid file naming this live process), the normal case in which post-merge only writes
// its spool file and returns.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, interleaved, makeSandbox, median, round, timed } from '../lib.mjs';

export const name = 'hook-overhead';

export async function run({ iterations = 40 } = {}) {
  const sb = makeSandbox();
  try {
    const withHooks = sb.repo('hooked', 50).clone;
    const without = sb.repo('plain', 50).clone;
    for (const repo of [withHooks, without]) {
      sb.git(repo, 'checkout', '-q', '-b', 'next');
      writeFileSync(join(repo, 'next.txt'), 'next\n');
      sb.git(repo, 'add', 'next.txt');
      sb.git(repo, 'commit', '-q', '-m', 'next');
      sb.git(repo, 'checkout', '-q', 'main');
    }
    const inst = await timed(process.execPath, [BIN, 'hooks', 'install'], { cwd: withHooks, env: sb.env });
    if (inst.code !== 0) throw new Error(`hooks install failed: ${inst.stderr}`);
    const startTime = readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
    writeFileSync(join(withHooks, '.claude/sync-coordination/daemon.pid'), `${process.pid}\n${startTime}\n${new Date().toISOString()}\n`);
    const merge = async (repo) => {
      sb.git(repo, 'reset', '-q', '--hard', 'main@{0}');
      const r = await timed('git', ['merge', '-q', '--ff-only', 'next'], { cwd: repo, env: sb.env });
      if (r.code !== 0) throw new Error(`merge failed: ${r.stderr}`);
      sb.git(repo, 'reset', '-q', '--hard', 'HEAD~1');
      return r.ms;
    };
    const [hooked, plain] = await interleaved(iterations, 3, [() => merge(withHooks), () => merge(without)]);
    const overhead = median(hooked) - median(plain);
    return {
      figure: 'post-merge hook overhead on a fast-forward git merge',
      median_ms: round(median(hooked)),
      baseline: 'the same merge without hooks',
      baseline_median_ms: round(median(plain)),
      overhead_ms: round(overhead),
      target: 'overhead <= 5 ms',
      pass: overhead <= 5,
      iterations,
    };
  } finally {
    sb.cleanup();
  }
}
