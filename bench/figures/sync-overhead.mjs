// DESIGN.md section 10: (median `sync-now` − median `node -e 0`) / median raw
// `git add -A && git commit && git pull --rebase && git push`, one changed file, a
// 2,000-file workspace, interleaved pairs on identical copies (issue 4: at most 1.2).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, interleaved, makeSandbox, median, round, timed } from '../lib.mjs';
import { rawPipeline } from './raw-pipeline.mjs';

export const name = 'sync-overhead';

export async function run({ iterations = 15, files = 2000 } = {}) {
  const sb = makeSandbox();
  try {
    const ours = sb.repo('ours', files).clone;
    const raw = sb.repo('raw', files).clone;
    await timed(process.execPath, [BIN, 'init'], { cwd: ours, env: sb.env });
    // Lift the hourly limit: this measures speed, not the limiter.
    writeFileSync(join(ours, '.claude/sync-coordination/config.json'), JSON.stringify({ rate_limiting_enabled: false }));
    const [syncNow, rawMs, node] = await interleaved(iterations, 2, [
      async (i) => {
        writeFileSync(join(ours, 'd1', 'f1.txt'), `edit ${i}\n`);
        const a = await timed(process.execPath, [BIN, 'sync-now'], { cwd: ours, env: sb.env });
        if (a.code !== 0) throw new Error(`sync-now failed: ${a.stderr}`);
        return a.ms;
      },
      async (i) => {
        writeFileSync(join(raw, 'd1', 'f1.txt'), `edit ${i}\n`);
        return (await rawPipeline(raw, sb.env)).ms;
      },
      async () => (await timed(process.execPath, ['-e', '0'], { cwd: ours, env: sb.env })).ms,
    ]);
    const ratio = (median(syncNow) - median(node)) / median(rawMs);
    return {
      figure: `sync-now vs raw git pipeline (${files} files, 1 changed)`,
      median_ms: round(median(syncNow)),
      node_start_median_ms: round(median(node)),
      baseline: 'raw add/commit/pull --rebase/push',
      baseline_median_ms: round(median(rawMs)),
      ratio: round(ratio),
      target: 'ratio <= 1.2',
      pass: ratio <= 1.2,
      iterations,
    };
  } finally {
    sb.cleanup();
  }
}
