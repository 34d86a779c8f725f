/**
 * Issue 12 item 7: `-C /nonexistent` is bad input; doctor outside a repository says
 * what it checked and why it stopped; `hooks install` over a hook in another language
 * refuses in one plain line (exit 2, nothing changed) with advice that works pasted;
 * status and lock messages do not print this machine's host name.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { exited, runCli, waitFor } from '../helpers/cli.js';
import { paste } from '../helpers/paste.js';
import { cli, setupDevice, testConfig } from '../engine/engine-helpers.js';

let sb: Sandbox;
let a: string;
beforeEach(() => {
  sb = makeSandbox();
  a = sb.clone('a');
});
afterEach(() => sb.cleanup());

describe('small ones', () => {
  it('-C to a path that does not exist is bad input: exit 2, one line', async () => {
    for (const args of [['status'], ['doctor'], ['request-sync', 'smart', 'me']]) {
      const r = await runCli(['-C', join(sb.dir, 'nonexistent'), ...args], { cwd: sb.dir, env: sb.env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('no such directory');
    }
  });

  it('doctor outside a repository prints what it checked and why it stopped', async () => {
    const plain = join(sb.dir, 'plain');
    mkdirSync(plain);
    const r = await runCli(['doctor'], { cwd: plain, env: sb.env });
    expect(r.code).toBe(6);
    expect(r.stdout).toMatch(/^ok +git version/m);
    expect(r.stdout).toMatch(/^FAIL +work tree +not inside a git work tree/m);
    expect(r.stdout).toMatch(/^stopped: not inside a git work tree; not checked: git identity, remote, branch,/m);
    const j = await runCli(['doctor', '--json'], { cwd: plain, env: sb.env });
    expect(JSON.parse(j.stdout).stopped).toMatch(/^not inside a git work tree; not checked: /);
  });

  it('hooks install over a python post-merge: exit 2, one plain line, nothing changed; its advice works pasted', async () => {
    const hook = join(a, '.git', 'hooks', 'post-merge');
    const py = '#!/usr/bin/env python3\nprint("user hook")\n';
    writeFileSync(hook, py, { mode: 0o755 });
    const r = await cli(sb, a, ['hooks', 'install']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toContain('\\n');
    expect(r.stderr).toContain(`cannot chain the post-merge hook ${hook}: it runs python3, not sh`);
    expect(readFileSync(hook, 'utf8')).toBe(py);
    expect(existsSync(join(a, '.git', 'hooks', 'pre-push'))).toBe(false);
    const cmd = /To keep it and get sync-coordinator's hooks: (.+?), then add the line/.exec(r.stderr)![1]!;
    const pasted = await paste(sb, a, cmd);
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(readFileSync(`${hook}.python3`, 'utf8')).toBe(py);
    const st = await cli(sb, a, ['hooks', 'status', '--json']);
    expect(JSON.parse(st.stdout).hooks).toEqual({ 'post-merge': true, 'pre-push': true });
  });

  it('status and lock-busy messages say "this device", not the host name', async () => {
    await setupDevice(sb, a, testConfig('laptop', { lock_timeout_ms: 200 }));
    const holder = spawn(process.execPath, [join(PROJECT_ROOT, 'test', 'fixtures', 'lock-holder.mjs'), a, 'holder', '30000', '5000'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      let out = '';
      holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('acquired'), { what: 'the lock holder' });
      const st = await cli(sb, a, ['status']);
      expect(st.stdout).toMatch(/^lock: +held by holder \(pid \d+ on this device, since/m);
      const busy = await cli(sb, a, ['process']);
      expect(busy.code).toBe(4);
      expect(busy.stderr).toContain('on this device');
      for (const text of [st.stdout, busy.stderr]) expect(text).not.toContain(` ${hostname()}`);
    } finally {
      holder.kill('SIGKILL');
      await exited(holder);
    }
  });
});
