// `request-sync --enqueue-only` wall time minus bare `node -e 0`, interleaved
// (issue 3: under 60 ms median).
import { BIN, interleaved, makeSandbox, median, round, timed } from '../lib.mjs';

export const name = 'enqueue';

export async function run({ iterations = 30 } = {}) {
  const sb = makeSandbox();
  try {
    const { clone } = sb.repo('enqueue');
    await timed(process.execPath, [BIN, 'init'], { cwd: clone, env: sb.env });
    const [cli, bare] = await interleaved(iterations, 2, [
      async () => {
        const a = await timed(process.execPath, [BIN, 'request-sync', 'smart', 'bench', '--enqueue-only'], { cwd: clone, env: sb.env });
        if (a.code !== 0) throw new Error(`request-sync failed: ${a.stderr}`);
        return a.ms;
      },
      async () => (await timed(process.execPath, ['-e', '0'], { cwd: clone, env: sb.env })).ms,
    ]);
    const overhead = median(cli) - median(bare);
    return {
      figure: 'request-sync --enqueue-only overhead over node start',
      median_ms: round(median(cli)),
      baseline: 'node -e 0',
      baseline_median_ms: round(median(bare)),
      overhead_ms: round(overhead),
      target: 'overhead < 60 ms',
      pass: overhead < 60,
      iterations,
    };
  } finally {
    sb.cleanup();
  }
}
