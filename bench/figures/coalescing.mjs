// N concurrent `request-sync` processes → number of syncs and total wall time, against
// one raw `git add -A && git commit && git pull --rebase && git push` (invariant 3:
// 100 concurrent requests give 1–2 syncs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, makeSandbox, round, timed } from '../lib.mjs';
import { rawPipeline } from './raw-pipeline.mjs';

export const name = 'coalescing';

export async function run({ concurrency = 100 } = {}) {
  const sb = makeSandbox();
  try {
    const { clone } = sb.repo('coalesce');
    const raw = sb.repo('raw').clone;
    await timed(process.execPath, [BIN, 'init'], { cwd: clone, env: sb.env });
    writeFileSync(join(clone, 'change.txt'), 'one change, many requests\n');
    const started = performance.now();
    const all = await Promise.all(
      Array.from({ length: concurrency }, (_, i) => timed(process.execPath, [BIN, 'request-sync', 'smart', `bench-${i}`], { cwd: clone, env: sb.env })),
    );
    // Wait until every request is accounted for (late ones are served by the re-check).
    let status;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      status = JSON.parse((await timed(process.execPath, [BIN, 'status', '--json'], { cwd: clone, env: sb.env })).stdout);
      if (status.stats.requests >= concurrency && status.queue.pending === 0 && !status.lock.held) break;
    }
    const totalMs = performance.now() - started;
    writeFileSync(join(raw, 'change.txt'), 'one change\n');
    const baseline = await rawPipeline(raw, sb.env);
    const syncs = status.stats.syncs_ok + status.stats.syncs_failed;
    return {
      figure: `${concurrency} concurrent request-sync processes`,
      syncs,
      requests: status.stats.requests,
      failed_calls: all.filter((r) => r.code !== 0).length,
      total_ms: round(totalMs),
      baseline: 'one raw git pipeline (add, commit, pull --rebase, push)',
      baseline_median_ms: round(baseline.ms),
      ratio: round(totalMs / baseline.ms),
      summary: `${syncs} sync(s) for ${status.stats.requests} requests in ${round(totalMs / 1000, 1)} s`,
      target: '1-2 syncs',
      pass: syncs >= 1 && syncs <= 2 && all.every((r) => r.code === 0),
    };
  } finally {
    sb.cleanup();
  }
}
