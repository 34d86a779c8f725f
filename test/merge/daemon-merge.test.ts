/**
 * The resolver with daemons running (issue "Merge, don't copy"): two devices, each with
 * its own user daemon (own HOME and XDG directories), its watcher on and a fast remote
 * probe, edit the same note at the same moment. Both end with the same text carrying
 * both edits, and no conflict copy.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';

const STATE = '.claude/sync-coordination';
const CONFIG = {
  debounce_ms: 300,
  max_wait_ms: 2000,
  watch: { enabled: true },
  pull_interval_s: 300,
  poll_active_s: 1,
  process_interval_s: 2,
  rate_limiting_enabled: false,
};

interface Device {
  repo: string;
  env: NodeJS.ProcessEnv;
  cli(args: string[]): ReturnType<typeof runCli>;
}

describe('concurrent edits with both daemons running', () => {
  const sandboxes: Sandbox[] = [];
  const devices: Device[] = [];
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.cli(['daemon', 'stop']).catch(() => {});
    for (const sb of sandboxes.splice(0)) sb.cleanup();
  });

  function device(sb: Sandbox, name: string, remote: string): Device {
    const xdg = join(sb.dir, `xdg-${name}`);
    mkdirSync(join(xdg, 'run'), { recursive: true, mode: 0o700 });
    const env = {
      ...sb.env,
      HOME: join(sb.dir, `home-${name}`),
      XDG_CONFIG_HOME: join(xdg, 'config'),
      XDG_STATE_HOME: join(xdg, 'state'),
      XDG_RUNTIME_DIR: join(xdg, 'run'),
    };
    mkdirSync(env.HOME, { recursive: true });
    writeFileSync(join(env.HOME, '.gitconfig'), '');
    const repo = join(sb.dir, name);
    spawnSync('git', ['clone', '-q', remote, repo], { env });
    for (const [k, v] of [
      ['user.name', name],
      ['user.email', `${name}@example.test`],
      ['commit.gpgSign', 'false'],
    ] as const)
      spawnSync('git', ['config', k, v], { cwd: repo, env });
    const d: Device = { repo, env, cli: (args) => runCli(args, { cwd: repo, env, timeoutMs: 60_000 }) };
    devices.push(d);
    return d;
  }

  it('the same paragraph edited in different sentences on two devices at once: both edits everywhere, no copy', async () => {
    const sb = makeSandbox('sc-merge-daemons-');
    sandboxes.push(sb);
    const seed = sb.clone('seed');
    const base = '# Plan\n\nWe meet on Monday. Bring the slides. Lunch is provided.\n';
    writeFileSync(join(seed, 'plan.md'), base);
    sb.git(seed, 'add', 'plan.md');
    sb.git(seed, 'commit', '-q', '-m', 'plan');
    sb.git(seed, 'push', '-q', 'origin', 'main');
    const a = device(sb, 'a', sb.remote);
    const b = device(sb, 'b', sb.remote);
    for (const d of [a, b]) {
      expect((await d.cli(['init'])).code).toBe(0);
      writeFileSync(join(d.repo, STATE, 'config.json'), JSON.stringify({ ...CONFIG, device_name: d === a ? 'devA' : 'devB' }));
      const started = await d.cli(['daemon', 'start']);
      expect(started.code, started.stderr).toBe(0);
    }
    writeFileSync(join(a.repo, 'plan.md'), base.replace('Monday', 'Tuesday'));
    writeFileSync(join(b.repo, 'plan.md'), base.replace('Lunch is provided', 'Lunch is not provided'));
    const merged = '# Plan\n\nWe meet on Tuesday. Bring the slides. Lunch is not provided.\n';
    const text = (d: Device) => (existsSync(join(d.repo, 'plan.md')) ? readFileSync(join(d.repo, 'plan.md'), 'utf8') : '');
    await waitFor(() => text(a) === merged && text(b) === merged, { what: 'both devices to hold both edits', timeoutMs: 45_000, intervalMs: 200 }).catch(
      (e: unknown) => {
        throw new Error(`${String(e)}\nA: ${JSON.stringify(text(a))}\nB: ${JSON.stringify(text(b))}`);
      },
    );
    expect(sb.git(sb.remote, 'show', 'main:plan.md')).toBe(merged);
    for (const d of [a, b]) expect(readdirSync(d.repo).filter((n) => n.includes('.sync-conflict-'))).toEqual([]);
    const logs = [a, b]
      .map((d) => (existsSync(join(d.repo, STATE, 'conflicts.log')) ? readFileSync(join(d.repo, STATE, 'conflicts.log'), 'utf8') : ''))
      .join('');
    expect(logs).toMatch(/"outcome":"auto-merged"/);
  }, 90_000);
});
