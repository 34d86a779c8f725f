/**
 * Issue 12 items 3 and 4: every device lists the conflict copies in the tree (also those
 * another device made, with that device's name); resolving one anywhere closes it
 * everywhere once synced; a conflict on a copy keeps one level of name; a guided
 * `conflicts --merge` writes git's 3-way merge for the user, and every command the
 * tool suggests works when pasted.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { conflictCopyName, originalOf, parseConflictCopy } from '../../src/git/conflict-copy.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { paste, suggested } from '../helpers/paste.js';
import { cli, lsTree, setupDevice, testConfig } from '../engine/engine-helpers.js';

describe('conflict-copy names', () => {
  it('a copy of a copy is named after the original: one level', () => {
    const first = conflictCopyName('docs/a.txt', '20260101-000000', 'laptop');
    expect(first).toBe('docs/a.sync-conflict-20260101-000000-laptop.txt');
    expect(conflictCopyName(first, '20260102-000000', 'desk')).toBe('docs/a.sync-conflict-20260102-000000-desk.txt');
    expect(originalOf('a.sync-conflict-20260101-000000-x.sync-conflict-20260102-000000-y.txt')).toBe('a.txt');
    expect(parseConflictCopy('.env.sync-conflict-20260101-000000-my-pc-3.local')).toEqual({
      original: '.env.local',
      stamp: '20260101-000000',
      device: 'my-pc',
      n: 3,
    });
    expect(parseConflictCopy('Makefile.sync-conflict-20260101-000000-pc')).toMatchObject({ original: 'Makefile', device: 'pc' });
    expect(parseConflictCopy('notes.txt')).toBeNull();
  });
});

let sb: Sandbox;
let a: string;
let b: string;
beforeEach(async () => {
  sb = makeSandbox();
  a = sb.clone('a');
  b = sb.clone('b');
  await setupDevice(sb, a, testConfig('laptop'));
  await setupDevice(sb, b, testConfig('desk'));
});
afterEach(() => sb.cleanup());

async function syncOk(repo: string): Promise<void> {
  const r = await cli(sb, repo, ['sync-now']);
  expect(r.code, r.stderr).toBe(0);
}

/** Both devices change notes.txt's second line; desk syncs first, laptop gets the copy. */
async function makeConflict(): Promise<string> {
  writeFileSync(join(a, 'notes.txt'), 'one\ntwo\nthree\n');
  await syncOk(a);
  await syncOk(b);
  writeFileSync(join(b, 'notes.txt'), 'one\ntwo from desk\nthree\n');
  await syncOk(b);
  writeFileSync(join(a, 'notes.txt'), 'one\ntwo from laptop\nthree\n');
  await syncOk(a);
  const copies = [...lsTree(sb, a, 'HEAD').keys()].filter((p) => p.includes('.sync-conflict-'));
  expect(copies).toHaveLength(1);
  return copies[0]!;
}

async function conflictsJson(repo: string): Promise<{ open: unknown[]; copies: Array<{ path: string; original: string; device: string }>; count: number }> {
  const r = await cli(sb, repo, ['conflicts', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function openCount(repo: string): Promise<number> {
  return JSON.parse((await cli(sb, repo, ['status', '--json'])).stdout).conflicts.open;
}

describe('every device sees the copies', () => {
  it('a copy made on another device is listed with that device; resolving it there closes it everywhere', async () => {
    const copy = await makeConflict();
    await syncOk(b);
    expect(existsSync(join(b, copy))).toBe(true);
    const onB = await conflictsJson(b);
    expect(onB.copies).toEqual([expect.objectContaining({ path: copy, original: 'notes.txt', device: 'laptop' })]);
    expect(await openCount(b)).toBe(1);
    const doctor = JSON.parse((await cli(sb, b, ['doctor', '--json'])).stdout);
    expect(doctor.checks.find((c: { name: string }) => c.name === 'conflicts')).toMatchObject({ status: 'warn', message: `1 open: ${copy}` });
    const human = await cli(sb, b, ['conflicts']);
    expect(human.stdout).toContain(`notes.txt  [conflict copy from device laptop]  its version kept as ${copy}`);

    // Resolved on desk by the command it suggests, pasted as is.
    const resolveCmd = suggested(human.stdout, 'when the file has what you want: ');
    expect(resolveCmd).toBe('sync-coordinator conflicts --resolve=notes.txt');
    const resolved = await paste(sb, b, resolveCmd);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(existsSync(join(b, copy))).toBe(false);
    expect(await openCount(b)).toBe(0);
    await syncOk(b);
    await syncOk(a);
    expect(existsSync(join(a, copy))).toBe(false);
    expect((await conflictsJson(a)).count).toBe(0);
    expect(await openCount(a)).toBe(0);
  });

  it('deleting the copy by hand on one device closes it on the other', async () => {
    const copy = await makeConflict();
    expect(await openCount(a)).toBe(1);
    await syncOk(b);
    sb.git(b, 'rm', '-q', copy);
    await syncOk(b);
    await syncOk(a);
    expect(await openCount(a)).toBe(0);
    const human = await cli(sb, a, ['conflicts']);
    expect(human.stdout.trim()).toBe('no open conflicts');
  });

  it('a conflict on a conflict copy keeps one level of name', async () => {
    const copy = await makeConflict();
    await syncOk(b);
    writeFileSync(join(b, copy), 'desk rewrote the copy\n');
    await syncOk(b);
    writeFileSync(join(a, copy), 'laptop rewrote the copy\n');
    await syncOk(a);
    const names = [...lsTree(sb, a, 'HEAD').keys()].filter((p) => p.includes('.sync-conflict-'));
    expect(names.length).toBe(2);
    for (const n of names) expect(n.split('.sync-conflict-').length, n).toBe(2);
    expect(names.every((n) => originalOf(n) === 'notes.txt')).toBe(true);
  });
});

describe('conflicts --merge (guided)', () => {
  it('writes the 3-way merge with markers, pauses syncs, and every suggested command works pasted', async () => {
    const copy = await makeConflict();
    const merge = await paste(sb, a, suggested((await cli(sb, a, ['conflicts'])).stdout, 'to merge a copy into its file: '));
    expect(merge.code, merge.stderr).toBe(0);
    expect(merge.stdout).toContain(`merged ${copy} into notes.txt: 1 conflict(s)`);
    expect(merge.stdout).toMatch(/^base: notes\.txt as of [0-9a-f]{10}/m);
    const text = readFileSync(join(a, 'notes.txt'), 'utf8');
    expect(text).toBe(`one\n<<<<<<< notes.txt\ntwo from desk\n=======\ntwo from laptop\n>>>>>>> ${copy}\nthree\n`);

    // Nothing syncs the markers: not automatic syncs, not even sync-now.
    const auto = await cli(sb, a, ['request-sync', 'smart', 'test', '--wait', '--json']);
    expect(auto.code).toBe(5);
    const manual = await cli(sb, a, ['sync-now']);
    expect(manual.code).toBe(5);
    expect(manual.stderr).toContain('still has conflict markers');
    expect(lsTree(sb, a, 'HEAD').get('notes.txt')).toBe(lsTree(sb, sb.remote, 'main').get('notes.txt'));

    // The command it suggests refuses while markers are there, and says so.
    const resolveCmd = suggested(merge.stdout);
    expect(resolveCmd).toBe('sync-coordinator conflicts --resolve=notes.txt');
    const early = await paste(sb, a, resolveCmd);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain('notes.txt still has conflict markers (line 2, 4, 6)');
    expect(suggested(early.stderr)).toBe(resolveCmd);

    writeFileSync(join(a, 'notes.txt'), 'one\ntwo from both\nthree\n');
    // Markers gone but not resolved yet: automatic syncs still wait, and say what to run.
    const waiting = await cli(sb, a, ['request-sync', 'smart', 'test', '--wait']);
    expect(waiting.code).toBe(5);
    expect(suggested(waiting.stderr)).toBe(resolveCmd);
    const done = await paste(sb, a, resolveCmd);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('automatic syncs resumed');
    const now = await paste(sb, a, suggested(done.stdout, '(now: ').replace(/\)$/, ''));
    expect(now.code, now.stderr).toBe(0);
    const remote = lsTree(sb, sb.remote, 'main');
    expect(remote.has(copy)).toBe(false);
    expect(sb.git(sb.remote, 'show', 'main:notes.txt')).toBe('one\ntwo from both\nthree\n');
  });
});
