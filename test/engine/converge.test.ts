/**
 * Three devices edit the same lines of a user file, a system file, a file one deletes
 * and the others modify, and a binary file, then sync at the same time and again until
 * quiet: every clone converges to the remote's tree, every device's edit survives (at
 * the path or in a conflict copy), no conflict marker is in any history, and
 * conflicts.log records each conflict.
 */
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { assertNoMarkersInHistory, blob, cli, commitAll, conflictLog, lsTree, setupDevice, testConfig } from './engine-helpers.js';

const DEVICES = ['devA', 'devB', 'devC'] as const;
const notes = (who: string) => ['line 1', 'line 2', 'line 3', `line 4 edited by ${who}`, 'line 5', ''].join('\n');
const bin = (who: string) => Buffer.concat([Buffer.from([0, 1, 2, 0, 255]), Buffer.from(`binary of ${who}`), Buffer.from([0])]);

describe('three devices, conflicting edits, conflict-copy policy', () => {
  let sb: Sandbox;
  const repos: Record<string, string> = {};

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-converge-');
    const a = sb.clone('a');
    writeFileSync(join(a, 'notes.txt'), notes('nobody'));
    writeFileSync(join(a, 'doomed.txt'), 'original\n');
    writeFileSync(join(a, 'image.bin'), bin('base'));
    writeFileSync(join(a, 'keep.txt'), 'untouched\n');
    sb.git(a, 'add', '-A');
    sb.git(a, 'commit', '-q', '-m', 'base files');
    // .claude/settings.json: a tracked system file (the state dir beside it is excluded).
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(a, '.claude', 'settings.json'), '{ "theme": "base" }\n');
    commitAll(sb, a, 'system file');
    sb.git(a, 'push', '-q', 'origin', 'main');
    repos.devA = a;
    repos.devB = sb.clone('b');
    repos.devC = sb.clone('c');
    await setupDevice(sb, repos.devB, testConfig('devB'));
    await setupDevice(sb, repos.devC, testConfig('devC'));
  });
  afterAll(() => sb?.cleanup());

  it('converges with every edit kept and no marker anywhere', async () => {
    for (const d of DEVICES) {
      const r = repos[d]!;
      writeFileSync(join(r, 'notes.txt'), notes(d));
      writeFileSync(join(r, '.claude', 'settings.json'), `{ "theme": "${d}" }\n`);
      writeFileSync(join(r, 'image.bin'), bin(d));
      if (d === 'devA') rmSync(join(r, 'doomed.txt'));
      else writeFileSync(join(r, 'doomed.txt'), `modified by ${d}\n`);
    }

    // All three at the same time.
    const first = await Promise.all(DEVICES.map((d) => cli(sb, repos[d]!, ['sync-now'])));
    for (const [i, r] of first.entries()) expect(r.code, `${DEVICES[i]}: ${r.stderr}`).toBe(0);

    // Then until quiet: a full round in which nobody pushes and all heads equal the remote.
    let quiet = false;
    for (let round = 0; round < 5 && !quiet; round++) {
      const before = sb.git(sb.remote, 'rev-parse', 'main').trim();
      for (const d of DEVICES) {
        const r = await cli(sb, repos[d]!, ['sync-now']);
        expect(r.code, `${d}: ${r.stderr}`).toBe(0);
      }
      const after = sb.git(sb.remote, 'rev-parse', 'main').trim();
      quiet = before === after && DEVICES.every((d) => sb.git(repos[d]!, 'rev-parse', 'HEAD').trim() === after);
    }
    expect(quiet).toBe(true);

    const remoteTree = lsTree(sb, sb.remote, 'main');
    for (const d of DEVICES) {
      const r = repos[d]!;
      expect(lsTree(sb, r, 'HEAD'), d).toEqual(remoteTree);
      expect(sb.git(r, 'status', '--porcelain'), d).toBe('');
    }

    // Every device's edit survives, at the path or in a conflict copy.
    const contents = (prefix: string) =>
      [...remoteTree.entries()]
        .filter(([p]) => p === prefix || p.startsWith(prefix.replace(/\.[^.]*$/, '') + '.sync-conflict-'))
        .map(([, sha]) => blob(sb, sb.remote, sha));
    const notesVersions = contents('notes.txt').map((b) => b.toString());
    const binVersions = contents('image.bin');
    const doomedVersions = contents('doomed.txt').map((b) => b.toString());
    for (const d of DEVICES) {
      expect(notesVersions, `notes of ${d}`).toContain(notes(d));
      expect(
        binVersions.some((b) => b.equals(bin(d))),
        `binary of ${d}`,
      ).toBe(true);
      if (d !== 'devA') expect(doomedVersions, `doomed.txt of ${d}`).toContain(`modified by ${d}\n`);
    }
    // The system file: the local version wins at each integration, so the result is one
    // device's version (never a merge with markers), and every version is in history.
    const settings = blob(sb, sb.remote, remoteTree.get('.claude/settings.json')!).toString();
    expect(DEVICES.map((d) => `{ "theme": "${d}" }\n`)).toContain(settings);
    const history = sb.git(sb.remote, 'log', '-p', '--format=', 'main', '--', '.claude/settings.json');
    for (const d of DEVICES) expect(history).toContain(`"theme": "${d}"`);

    // No marker anywhere in history, on any clone or the remote.
    for (const d of DEVICES) assertNoMarkersInHistory(sb, repos[d]!);
    assertNoMarkersInHistory(sb, sb.remote);

    // conflicts.log records each conflict; every copy it names is in the final tree.
    const logs = DEVICES.flatMap((d) => conflictLog(repos[d]!));
    const byPath = (p: string) => logs.filter((l) => l.path === p);
    expect(byPath('notes.txt').length).toBeGreaterThanOrEqual(2);
    expect(byPath('notes.txt').every((l) => l.outcome === 'copy-created' && l.kind === 'content')).toBe(true);
    expect(byPath('image.bin').length).toBeGreaterThanOrEqual(2);
    expect(byPath('image.bin').every((l) => l.outcome === 'copy-created' && l.kind === 'binary')).toBe(true);
    expect(byPath('.claude/settings.json').length).toBeGreaterThanOrEqual(2);
    expect(byPath('.claude/settings.json').every((l) => l.policy === 'system-ours' && l.outcome === 'resolved-ours')).toBe(true);
    expect(byPath('doomed.txt').length).toBeGreaterThanOrEqual(1);
    for (const l of logs) if (l.copy_path) expect(remoteTree.has(l.copy_path), l.copy_path).toBe(true);
    // A device never logs a copy of its own: copies carry the device that made them.
    for (const d of DEVICES) for (const l of conflictLog(repos[d]!)) if (l.copy_path) expect(l.copy_path).toContain(`-${d}`);

    // `status` shows the open conflict copies: every copy in the tree, whichever device made it (issue 12).
    const st = JSON.parse((await cli(sb, repos.devB!, ['status', '--json'])).stdout);
    expect(st.conflicts.open).toBe([...remoteTree.keys()].filter((p) => p.includes('.sync-conflict-')).length);
  });
});
