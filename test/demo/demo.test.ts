/**
 * `npm run demo` (scripts/demo.mjs, compiled CLI from dist/): it runs to the end on a
 * machine with no git identity, shows the edits and the conflict copy, and leaves
 * nothing behind (no sandbox dir, no daemon), also when interrupted with Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { PROJECT_ROOT } from '../helpers/git-fixture.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const DEMO = join(PROJECT_ROOT, 'scripts', 'demo.mjs');
let base: string;
let cleanup: () => void;
let tmp: string;
let home: string;

beforeEach(() => {
  // A bare temp dir, not makeSandboxDir: that one writes a ~/.gitconfig, and this HOME must have none.
  ({ dir: base, cleanup } = makeTempDir('sc-demo-test-'));
  tmp = join(base, 'tmp');
  home = join(base, 'home'); // no .gitconfig at all: the demo must not need the user's identity
  mkdirSync(tmp);
  mkdirSync(home);
});
afterEach(() => cleanup());

function startDemo() {
  const child = spawn(process.execPath, [DEMO], {
    cwd: base,
    env: { PATH: process.env.PATH, HOME: home, TMPDIR: tmp, LANG: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal });
    }),
  );
  return { child, done, output: () => out };
}

/** Gone, or a zombie nobody reaped yet (it runs nothing either way). */
function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }
}

function sandboxOf(output: string): string {
  const first = output.split('\n')[0] ?? '';
  const m = /^1\/\d+ making a sandbox in (\S+?):? /.exec(first);
  if (!m?.[1]) throw new Error(`first line does not name the sandbox: ${first}`);
  return m[1];
}

const daemonPid = (output: string): number | null => {
  const m = /started \(pid (\d+)\)/.exec(output);
  return m ? Number(m[1]) : null;
};

describe('npm run demo', () => {
  it('runs to the end within a minute and removes its sandbox and daemon', async () => {
    const started = Date.now();
    const demo = startDemo();
    const { code } = await demo.done;
    const out = demo.output();
    expect(code, out).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    const dir = sandboxOf(out);
    expect(dir.startsWith(tmp)).toBe(true);
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
    for (const step of ['1/6', '2/6', '3/6', '4/6', '5/6', '6/6']) expect(out).toMatch(new RegExp(`^${step} `, 'm'));
    expect(out).toMatch(/sync\(intelligent-auto\)/); // the daemon's commit reached the remote
    expect(out).toMatch(/notes\.sync-conflict-\d{8}-\d{6}-laptop\.md/);
    expect(out).toMatch(/Meeting at 11:00 \(moved by desktop\)/);
    expect(out).toMatch(/Meeting at 09:30 \(moved by laptop\)/);
    expect(out).toMatch(/conflicts:\s+1 open/);
    expect(out).toMatch(/OPEN .* notes\.md .*conflict-copy/);
    const pid = daemonPid(out);
    expect(pid).not.toBeNull();
    expect(processGone(pid!)).toBe(true);
  });

  it('Ctrl-C stops the daemon and removes the sandbox', async () => {
    const demo = startDemo();
    await waitFor(() => daemonPid(demo.output()) !== null || demo.child.exitCode !== null, { timeoutMs: 30_000, what: 'the daemon to start' });
    const pid = daemonPid(demo.output());
    expect(pid, demo.output()).not.toBeNull();
    demo.child.kill('SIGINT');
    const { code } = await demo.done;
    const out = demo.output();
    expect(code, out).toBe(130);
    expect(out).toMatch(/interrupted \(SIGINT\)/);
    expect(existsSync(sandboxOf(out))).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
    expect(processGone(pid!)).toBe(true);
  });
});
