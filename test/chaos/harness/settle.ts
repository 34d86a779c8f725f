/**
 * After the rounds: the remote back up, the daemon restarted (it must recover whatever
 * the kills left) and left to drain its queue, then stopped cleanly; then every clone
 * runs `sync-now` in turn until two consecutive rounds change nothing (no HEAD moved,
 * the remote did not move, every clone at the remote's tip, every sync exit 0), bounded.
 */
import { waitFor } from '../../helpers/cli.js';
import { revParse } from './gitread.js';
import { BREAKER, CLONES, type Clone, type World } from './world.js';

const MAX_ROUNDS = 15;

export async function settle(world: World, daemonClone: Clone, startDaemon: () => Promise<void>): Promise<{ iterations: number; violations: string[] }> {
  const violations: string[] = [];
  if (!world.gitDaemon.running) await world.gitDaemon.start();
  if (world.daemonPid(daemonClone) === null) await startDaemon();
  await waitFor(
    async () => {
      const s = JSON.parse((await world.cli(daemonClone, ['status', '--json'])).stdout) as { lock: { held: boolean }; queue: { pending: number } };
      return !s.lock.held && s.queue.pending === 0;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: `the daemon in ${daemonClone.name} to drain its queue` },
  ).catch((e: Error) => violations.push(`settle: ${e.message}`));
  const stop = await world.cli(daemonClone, ['daemon', 'stop', '--json']);
  if (stop.code !== 0) violations.push(`settle: daemon stop failed (exit ${stop.code}): ${stop.stderr.trim().slice(0, 400)}`);

  let quietRounds = 0;
  let iterations = 0;
  const errors: string[] = [];
  for (; iterations < MAX_ROUNDS && quietRounds < 2; iterations++) {
    const remoteBefore = revParse(world.sb.env, world.sb.remote, 'main');
    let changed = false;
    for (const name of CLONES) {
      const c = world.clone(name);
      const before = revParse(world.sb.env, c.repo, 'HEAD');
      let r = await world.cli(c, ['sync-now', '--json']);
      if (r.code !== 0) {
        errors.push(`${name}: exit ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).slice(0, 300)}`);
        // The breaker may still be open from an outage: wait for its half-open try.
        await waitFor(async () => (JSON.parse((await world.cli(c, ['status', '--json'])).stdout) as { breaker: { state: string } }).breaker.state !== 'open', {
          timeoutMs: BREAKER.cooldown_s * 1000 + 10_000,
          intervalMs: 200,
          what: `the breaker of ${name} to leave "open"`,
        }).catch(() => {});
        r = await world.cli(c, ['sync-now', '--json']);
        changed = true;
        if (r.code !== 0) errors.push(`${name}: retry exit ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).slice(0, 300)}`);
      }
      if (revParse(world.sb.env, c.repo, 'HEAD') !== before) changed = true;
    }
    const remoteAfter = revParse(world.sb.env, world.sb.remote, 'main');
    if (remoteAfter !== remoteBefore) changed = true;
    if (CLONES.some((name) => revParse(world.sb.env, world.clone(name).repo, 'HEAD') !== remoteAfter)) changed = true;
    quietRounds = changed ? 0 : quietRounds + 1;
  }
  if (quietRounds < 2) violations.push(`settle: the clones did not become quiet in ${iterations} sync rounds; last errors: ${errors.slice(-6).join(' || ')}`);
  return { iterations, violations };
}
