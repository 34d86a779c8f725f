// DESIGN.md section 10, "sync overhead via daemon" (issue 15: at most 1.2): the same
// ratio as sync-overhead, (median `sync-now` − median `node -e 0`) / median raw
// `git add -A && git commit && git pull --rebase && git push`, with the user daemon
// serving the workspace (sync-now goes through its control socket), and in the same
// run without it (a copy the daemon does not serve: the in-process path).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, stopUserDaemon, interleaved, makeSandbox, median, round, timed } from '../lib.mjs';
import { rawPipeline } from './raw-pipeline.mjs';

export const name = 'sync-overhead-daemon';

export async function run({ iterations = 15, files = 2000 } = {}) {
  const sb = makeSandbox();
  const runtime = join(sb.dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const env = { ...sb.env, XDG_RUNTIME_DIR: runtime };
  try {
    const served = sb.repo('served', files).clone;
    const alone = sb.repo('alone', files).clone;
    const raw = sb.repo('raw', files).clone;
    for (const repo of [served, alone]) {
      await timed(process.execPath, [BIN, 'init'], { cwd: repo, env });
      // Speed, not the limiter; no watcher, so only sync-now syncs.
      writeFileSync(
        join(repo, '.claude/sync-coordination/config.json'),
        JSON.stringify({ rate_limiting_enabled: false, watch: { enabled: false }, pull_interval_s: 0 }),
      );
    }
    const start = await timed(process.execPath, [BIN, 'daemon', 'start'], { cwd: served, env });
    if (start.code !== 0) throw new Error(`daemon start failed: ${start.stderr}`);
    const syncNow = (repo) => async (i) => {
      writeFileSync(join(repo, 'd1', 'f1.txt'), `edit ${i}\n`);
      const a = await timed(process.execPath, [BIN, 'sync-now'], { cwd: repo, env });
      if (a.code !== 0) throw new Error(`sync-now failed: ${a.stderr}`);
      return a.ms;
    };
    const [viaDaemon, without, rawMs, node] = await interleaved(iterations, 2, [
      syncNow(served),
      syncNow(alone),
      async (i) => {
        writeFileSync(join(raw, 'd1', 'f1.txt'), `edit ${i}\n`);
        return (await rawPipeline(raw, env)).ms;
      },
      async () => (await timed(process.execPath, ['-e', '0'], { cwd: raw, env })).ms,
    ]);
    await timed(process.execPath, [BIN, 'daemon', 'stop'], { cwd: served, env });
    const ratio = (median(viaDaemon) - median(node)) / median(rawMs);
    const ratioWithout = (median(without) - median(node)) / median(rawMs);
    return {
      figure: `sync-now through the user daemon vs raw git pipeline (${files} files, 1 changed)`,
      median_ms: round(median(viaDaemon)),
      without_daemon_median_ms: round(median(without)),
      node_start_median_ms: round(median(node)),
      baseline: 'raw add/commit/pull --rebase/push',
      baseline_median_ms: round(median(rawMs)),
      ratio: round(ratio),
      ratio_without_daemon: round(ratioWithout),
      summary: `without the daemon: ratio ${round(ratioWithout)}`,
      target: 'ratio <= 1.2 with the daemon',
      pass: ratio <= 1.2,
      iterations,
    };
  } finally {
    stopUserDaemon(join(sb.env.HOME, '.local', 'state'));
    sb.cleanup();
  }
}
