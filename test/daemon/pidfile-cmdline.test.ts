/**
 * `daemon stop` and `daemon status` check the command line of the process a pid file
 * names, not only its pid and start time: a pid file that names a live process which is
 * not a daemon (forged, or checked out from a tracked file) is neither reported as the
 * daemon nor signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exited, runCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { processStartTime } from '../../src/shared/process-identity.js';
import { daemonCommandVerdict, isDaemonCommandLine } from '../../src/core/pidfile.js';

let sb: Sandbox;
let repo: string;
let bystander: ChildProcess | null = null;

beforeEach(() => {
  sb = makeSandbox('sc-pidcmd-');
  repo = sb.clone('a');
});
afterEach(async () => {
  if (bystander) {
    bystander.kill('SIGKILL');
    await exited(bystander);
    bystander = null;
  }
  sb.cleanup();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('daemon command line', () => {
  it('recognises the daemon argv of daemon start, the service units and claude-sync-daemon; nothing else', () => {
    expect(isDaemonCommandLine(['/usr/bin/node', '--max-old-space-size=256', '/opt/sc/dist/bin/sync-coordinator.js', '-C', '/w', 'daemon', 'run'])).toBe(true);
    expect(isDaemonCommandLine(['node', '/usr/local/bin/sync-coordinator', 'daemon', 'run'])).toBe(true);
    expect(isDaemonCommandLine(['node', '/x/claude-sync-daemon.js', 'run'])).toBe(true);
    expect(isDaemonCommandLine(['node', '/x/sync-coordinator.js', 'status'])).toBe(false);
    expect(isDaemonCommandLine(['node', '/x/sync-coordinator.js', 'run', 'daemon'])).toBe(false);
    expect(isDaemonCommandLine(['vim', 'daemon', 'run'])).toBe(false);
    expect(isDaemonCommandLine(['node', '-e', 'setInterval(()=>{},1e9)'])).toBe(false);
  });

  it('a pid file naming a live process that is not a daemon (right pid and start time): status says not running, stop does not signal it', async () => {
    bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
    const pid = bystander.pid!;
    const start = await waitFor(() => processStartTime(pid), { what: 'the start time' });
    expect(daemonCommandVerdict(pid)).toBe('other');
    expect(daemonCommandVerdict(process.pid)).toBe('other'); // the test runner is no daemon either
    const state = join(repo, '.claude', 'sync-coordination');
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'daemon.pid'), `${pid}\n${start}\n2025-01-01T00:00:00.000Z\n`);

    const status = await runCli(['daemon', 'status', '--json'], { cwd: repo, env: sb.env });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({ running: false, pid: null, since: null });
    expect(status.stderr).toContain(`pid ${pid}, which is not a sync-coordinator daemon`);

    const stop = await runCli(['daemon', 'stop', '--timeout', '2'], { cwd: repo, env: sb.env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/not running .*not signalled/);
    expect(alive(pid)).toBe(true);
    expect(bystander.exitCode).toBe(null);
  });
});
