/**
 * Every line a command prints goes through ctx.out / ctx.err, which make it printable:
 * a work tree whose path carries a terminal escape (ESC [ ... and the one-byte C1 CSI)
 * cannot colour or move the user's terminal through `init` or `daemon run`, and the
 * JSON form still carries the exact path.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exited, runCli, startCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';

const ESC = '\u001b';
const CSI = '\u009b';
const NAME = `repo${ESC}[31mred${CSI}2J`;

let sb: Sandbox;
let repo: string;
beforeEach(() => {
  sb = makeSandbox('sc-printable-');
  repo = join(sb.dir, NAME);
  renameSync(sb.clone('a'), repo);
});
afterEach(() => sb.cleanup());

function expectPrintable(text: string): void {
  expect(text).not.toContain(ESC);
  expect(text).not.toContain(CSI);
}

describe('printable output', () => {
  it('init prints the escape-laden path without its control characters; --json keeps it exact', async () => {
    const human = await runCli(['init'], { cwd: repo, env: sb.env });
    expect(human.code, human.stderr).toBe(0);
    expectPrintable(human.stdout);
    // ESC removed, the C1 control shown as an escape: visible, harmless.
    expect(human.stdout).toContain(`${join(sb.dir, 'repo[31mred\\u009b2J')}`);

    const json = await runCli(['init', '--json'], { cwd: repo, env: sb.env });
    expect(json.code, json.stderr).toBe(0);
    expectPrintable(json.stdout);
    expect(JSON.parse(json.stdout).state_dir.startsWith(`${repo}/`)).toBe(true);
  });

  it('daemon run refuses a second daemon with a one-line message free of control characters', async () => {
    expect((await runCli(['init'], { cwd: repo, env: sb.env })).code).toBe(0);
    const first = startCli(['daemon', 'run'], { cwd: repo, env: sb.env });
    let out = '';
    first.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('running (pid'), { what: 'the first daemon', timeoutMs: 30_000 });
      const second = await runCli(['daemon', 'run'], { cwd: repo, env: sb.env });
      expect(second.code).toBe(4);
      expectPrintable(second.stderr);
      expect(second.stderr).toContain(`daemon already running for ${join(sb.dir, 'repo[31mred\\u009b2J')} (pid ${first.pid})`);
      expect(second.stderr.trimEnd().split('\n')).toHaveLength(1);
    } finally {
      first.kill('SIGTERM');
      await exited(first);
    }
    expect(first.exitCode).toBe(0);
  }, 60_000);
});
