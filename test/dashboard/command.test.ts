/**
 * `sync-coordinator dashboard` when there is nothing to open: no user daemon (exit 1,
 * saying how to start it), the API switched off in config.json (exit 1, saying which
 * key), and its --help. The working link and the browser opener are tested against a
 * running daemon in browser.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { daemonPids, tryKill } from '../helpers/daemon-procs.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';

const sandboxes: Sandbox[] = [];
afterEach(() => {
  for (const s of sandboxes) for (const pid of daemonPids(s.dir)) tryKill(pid);
  for (const s of sandboxes.splice(0)) s.cleanup();
});

function setup(api: Record<string, unknown> | null) {
  const sb = makeSandbox('sc-dashcmd-');
  sandboxes.push(sb);
  const xdg = join(sb.dir, 'xdg');
  mkdirSync(join(xdg, 'run'), { recursive: true, mode: 0o700 });
  mkdirSync(join(xdg, 'config', 'sync-coordinator'), { recursive: true, mode: 0o700 });
  if (api) writeFileSync(join(xdg, 'config', 'sync-coordinator', 'config.json'), JSON.stringify({ api }));
  const env = { ...sb.env, XDG_CONFIG_HOME: join(xdg, 'config'), XDG_STATE_HOME: join(xdg, 'state'), XDG_RUNTIME_DIR: join(xdg, 'run'), DISPLAY: '' };
  return { sb, env };
}

describe('sync-coordinator dashboard', () => {
  it('without a user daemon: exit 1, nothing on stdout, and the command that starts it', async () => {
    const { sb, env } = setup(null);
    const r = await runCli(['dashboard'], { cwd: sb.dir, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^sync-coordinator: the user daemon is not running.*start it with: sync-coordinator daemon start\n$/);
  });

  it('with the API off in config.json: exit 1 naming the key, and no link', async () => {
    const { sb, env } = setup({ enabled: false });
    const repo = sb.clone('ws');
    expect((await runCli(['init'], { cwd: repo, env })).code).toBe(0);
    writeFileSync(join(repo, '.claude/sync-coordination/config.json'), JSON.stringify({ pull_interval_s: 0, watch: { enabled: false } }));
    const start = await runCli(['daemon', 'start'], { cwd: repo, env });
    expect(start.code, start.stderr).toBe(0);
    const r = await runCli(['dashboard', '--json'], { cwd: repo, env });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/the API is off \("api": \{"enabled": false\} in .*config\.json\)/);
    expect(r.code).toBe(1);
    expect((await runCli(['daemon', 'stop'], { cwd: repo, env })).code).toBe(0);
  });

  it('--help says where the token goes and how to skip the browser', async () => {
    const { sb, env } = setup(null);
    const r = await runCli(['dashboard', '--help'], { cwd: sb.dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--no-open');
    expect(r.stdout).toContain('after "#"');
    expect(r.stdout).toMatch(/Exit codes: 0 printed, 1 the user daemon or its API is not running/);
  });
});
