/**
 * Auto-merges are reviewable and reversible (issue 13 part 3, DESIGN.md section 13):
 * two clones of one bare remote edit the same file at once, so that the second device's
 * sync really auto-merges it; then `conflicts --merged`, `conflicts show <path>`,
 * `conflicts undo <path>` and `status` are run on that device, with real git.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, commitAll, conflictLog, setupDevice, STATE_DIR, statusJson, testConfig, worktreeSnapshot } from '../engine/engine-helpers.js';

describe('auto-merges: conflicts --merged, show, undo; status counts them', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeEach(async () => {
    sb = makeSandbox('sc-review-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    b = sb.clone('b');
    await setupDevice(sb, b, testConfig('devB'));
  });
  afterEach(() => sb?.cleanup());

  const hash = (text: string) => spawnSync('git', ['hash-object', '--stdin'], { cwd: a, env: sb.env, input: text, encoding: 'utf8' }).stdout.trim();
  const copies = (repo: string) => readdirSync(repo).filter((n) => n.includes('.sync-conflict-'));
  const logText = (repo: string) => {
    try {
      return readFileSync(join(repo, STATE_DIR, 'conflicts.log'), 'utf8');
    } catch {
      return '';
    }
  };

  /** Seed `file`, edit it on both devices, sync A then B: B's sync merges the two edits. */
  async function race(file: string, base: string, onA: string, onB: string): Promise<string> {
    sb.git(a, 'pull', '-q', '--no-rebase', 'origin', 'main');
    writeFileSync(join(a, file), base);
    commitAll(sb, a, `seed ${file}`);
    sb.git(a, 'push', '-q', 'origin', 'main');
    sb.git(b, 'pull', '-q', '--no-rebase', 'origin', 'main');
    writeFileSync(join(a, file), onA);
    writeFileSync(join(b, file), onB);
    const ra = await cli(sb, a, ['sync-now']);
    expect(ra.code, ra.stderr).toBe(0);
    const rb = await cli(sb, b, ['sync-now']);
    expect(rb.code, rb.stderr).toBe(0);
    const merged = readFileSync(join(b, file), 'utf8');
    expect(
      conflictLog(b)
        .filter((c) => c.path === file)
        .map((c) => c.outcome),
    ).toEqual(['auto-merged']);
    expect(copies(b)).toEqual([]);
    return merged;
  }

  const BASE = '# Notes\n\nThe meeting is on Monday. Bring the slides. Lunch is provided.\n';
  const ON_A = BASE.replace('Monday', 'Tuesday');
  const ON_B = BASE.replace('Lunch is provided', 'Lunch is not provided');
  const MERGED = '# Notes\n\nThe meeting is on Tuesday. Bring the slides. Lunch is not provided.\n';

  /** Runs `args` on B, expects exit 2 with one line on stderr, and that nothing changed. */
  async function refused(args: string[], why: RegExp): Promise<void> {
    const before = { tree: worktreeSnapshot(b), log: logText(b), head: sb.git(b, 'rev-parse', 'HEAD') };
    const r = await cli(sb, b, args);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(why);
    expect(worktreeSnapshot(b)).toEqual(before.tree);
    expect(logText(b)).toBe(before.log);
    expect(sb.git(b, 'rev-parse', 'HEAD')).toBe(before.head);
  }

  it('the auto-merge record names the exact base, local, remote and merged blobs', async () => {
    expect(await race('notes.md', BASE, ON_A, ON_B)).toBe(MERGED);
    const rec = JSON.parse(logText(b).trim().split('\n').pop()!);
    expect(rec).toMatchObject({
      path: 'notes.md',
      policy: 'auto-merge',
      outcome: 'auto-merged',
      device: 'devB',
      base_blob: hash(BASE),
      local_blob: hash(ON_B),
      remote_blob: hash(ON_A),
      merged_blob: hash(MERGED),
    });
  });

  it('--merged lists auto-merges newest first, bounded by --limit; human and --json', async () => {
    await race('notes.md', BASE, ON_A, ON_B);
    await race('list.md', '- apples\n- pears\n', '- apples\n- cherries\n- pears\n', '- apples\n- plums\n- pears\n');
    const j = await cli(sb, b, ['conflicts', '--merged', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout);
    expect(out.count).toBe(2);
    expect(out.merged.map((m: { path: string }) => m.path)).toEqual(['list.md', 'notes.md']);
    expect(out.merged[1]).toMatchObject({ path: 'notes.md', device: 'devB', strategy: 'text', undone: null });
    expect(out.merged[1].hunks).toBeGreaterThan(0);
    expect(out.merged[1].op).toMatch(/^\d{8}-\d{6}-[0-9a-f]+$/);
    expect(Date.parse(out.merged[0].time)).toBeGreaterThanOrEqual(Date.parse(out.merged[1].time));

    const one = JSON.parse((await cli(sb, b, ['conflicts', '--merged', '--limit', '1', '--json'])).stdout);
    expect(one.merged.map((m: { path: string }) => m.path)).toEqual(['list.md']);
    expect(one.count).toBe(2);

    const h = await cli(sb, b, ['conflicts', '--merged']);
    expect(h.code).toBe(0);
    const lines = h.stdout.split('\n');
    expect(lines[0]).toMatch(/list\.md {2}\[text, \d+ hunk\(s\)\] {2}on devB {2}\(op /);
    expect(lines[1]).toMatch(/notes\.md/);
    expect(h.stdout).toContain('conflicts show -- list.md');

    // A (which merged nothing) has none.
    expect((await cli(sb, a, ['conflicts', '--merged'])).stdout.trim()).toBe('no auto-merges recorded');
    for (const bad of [
      ['--limit', '0'],
      ['--limit', 'x'],
      ['--limit', '-1'],
      ['--limit', '99999999'],
    ]) {
      await refused(['conflicts', '--merged', ...bad], /--limit must be a whole number from 1 to 10000/);
    }
    await refused(['conflicts', '--limit', '3'], /--limit goes with --merged/);
  });

  it('status counts auto-merges (human line and an additive --json key)', async () => {
    expect((await statusJson(sb, b)).conflicts).toEqual({ open: 0, auto_merged: 0 });
    await race('notes.md', BASE, ON_A, ON_B);
    expect((await statusJson(sb, b)).conflicts).toEqual({ open: 0, auto_merged: 1 });
    const h = await cli(sb, b, ['status']);
    expect(h.stdout).toMatch(/^conflicts: +0 open, 1 auto-merged \(see "sync-coordinator conflicts --merged"\)$/m);
    expect((await statusJson(sb, a)).conflicts).toEqual({ open: 0, auto_merged: 0 });
  });

  it('show <path>: what each side changed against the base, labelled with the devices; --json gives blob ids and diffs', async () => {
    await race('notes.md', BASE, ON_A, ON_B);
    const j = await cli(sb, b, ['conflicts', 'show', 'notes.md', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const s = JSON.parse(j.stdout);
    expect(s).toMatchObject({ path: 'notes.md', source: 'auto-merge', base_blob: hash(BASE), merged_blob: hash(MERGED) });
    expect(s.local).toMatchObject({ device: 'devB', blob: hash(ON_B) });
    expect(s.remote).toMatchObject({ device: 'devA', blob: hash(ON_A) });
    expect(s.remote.commit).toBe(sb.git(a, 'rev-parse', 'HEAD').trim());
    // Each diff carries only its own side's change.
    expect(s.local.diff).toContain('+The meeting is on Monday. Bring the slides. Lunch is not provided.');
    expect(s.local.diff).not.toContain('Tuesday');
    expect(s.remote.diff).toContain('+The meeting is on Tuesday. Bring the slides. Lunch is provided.');
    expect(s.remote.diff).toContain('-The meeting is on Monday. Bring the slides. Lunch is provided.');
    expect(s.remote.diff).not.toContain('not provided');

    const h = await cli(sb, b, ['conflicts', 'show', '--', 'notes.md']);
    expect(h.code, h.stderr).toBe(0);
    const text = h.stdout;
    const local = text.indexOf('+++ notes.md (devB');
    const remote = text.indexOf('+++ notes.md (devA');
    expect(local).toBeGreaterThan(0);
    expect(remote).toBeGreaterThan(local);
    expect(text.slice(local, remote)).toContain('+The meeting is on Monday. Bring the slides. Lunch is not provided.');
    expect(text.slice(remote)).toContain('+The meeting is on Tuesday. Bring the slides. Lunch is provided.');

    await refused(['conflicts', 'show', 'other.md'], /no recent auto-merge of "other\.md" and no open conflict copy of it; recent: "notes\.md"/);
    await refused(['conflicts', 'show'], /conflicts show needs a path/);
    await refused(['conflicts', 'frob', 'notes.md'], /unknown conflicts action "frob"/);
    await refused(['conflicts', 'show', '../notes.md'], /inside the work tree/);
    await refused(['conflicts', 'show', 'notes.md', '--merged'], /takes only a path/);
  });

  it('show: a path that looks like an option and contents with terminal escapes stay data', async () => {
    await race('-rf.md', BASE, BASE.replace('Monday', 'Tuesday \u001b]0;pwned\u0007'), BASE.replace('Lunch is provided', 'Lunch is not provided \u001b[2J'));
    const h = await cli(sb, b, ['conflicts', 'show', '--', '-rf.md']);
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toContain('Tuesday ]0;pwned');
    expect(h.stdout).toContain('not provided [2J');
    expect(h.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    const j = JSON.parse((await cli(sb, b, ['conflicts', 'show', '--json', '--', '-rf.md'])).stdout);
    expect(j.remote.diff).toContain('Tuesday \u001b]0;pwned\u0007');
  });

  it("show <path> of an open conflict copy (the same word changed on both): the copy's side and the file's side against the base", async () => {
    sb.git(a, 'pull', '-q', '--no-rebase', 'origin', 'main');
    const base = 'The colour is red.\n';
    writeFileSync(join(a, 'colour.txt'), base);
    commitAll(sb, a, 'seed colour');
    sb.git(a, 'push', '-q', 'origin', 'main');
    sb.git(b, 'pull', '-q', '--no-rebase', 'origin', 'main');
    writeFileSync(join(a, 'colour.txt'), 'The colour is blue.\n');
    writeFileSync(join(b, 'colour.txt'), 'The colour is green.\n');
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    expect((await cli(sb, b, ['sync-now'])).code).toBe(0);
    const [copy] = copies(b);
    expect(copy).toMatch(/devB\.txt$/);
    const r = await cli(sb, b, ['conflicts', 'show', '--json', 'colour.txt']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ path: 'colour.txt', source: 'conflict-copy', copy });
    expect(s.base.blob).toBe(hash(base));
    expect(s.local).toMatchObject({ device: 'devB', blob: hash('The colour is green.\n') });
    expect(s.remote).toMatchObject({ device: 'devA', blob: hash('The colour is blue.\n') });
    expect(s.local.diff).toContain('+The colour is green.');
    expect(s.remote.diff).toContain('+The colour is blue.');
    expect(s.remote.diff).toContain('-The colour is red.');
    // No auto-merge happened: undo has nothing to undo.
    await refused(['conflicts', 'undo', 'colour.txt'], /no recent auto-merge of "colour\.txt"/);
  });

  it('undo <path>: the file keeps the merged text, the local side comes back as a conflict copy, listed, counted and pushed by the next sync', async () => {
    await race('notes.md', BASE, ON_A, ON_B);
    const r = await cli(sb, b, ['conflicts', 'undo', '--json', 'notes.md']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ undone: 'notes.md', side: 'local', blob: hash(ON_B) });
    expect(out.copy_path).toMatch(/^notes\.sync-conflict-\d{8}-\d{6}-devB\.md$/);
    expect(readFileSync(join(b, 'notes.md'), 'utf8')).toBe(MERGED);
    expect(readFileSync(join(b, out.copy_path), 'utf8')).toBe(ON_B);
    expect(conflictLog(b).pop()).toMatchObject({
      path: 'notes.md',
      policy: 'conflict-copy',
      outcome: 'copy-created',
      copy_path: out.copy_path,
      device: 'devB',
    });

    // Listed and counted at once, before any sync.
    const c = JSON.parse((await cli(sb, b, ['conflicts', '--json'])).stdout);
    expect(c.count).toBe(1);
    expect(c.copies.map((x: { path: string }) => x.path)).toEqual([out.copy_path]);
    expect((await statusJson(sb, b)).conflicts).toEqual({ open: 1, auto_merged: 1 });
    const merged = JSON.parse((await cli(sb, b, ['conflicts', '--merged', '--json'])).stdout);
    expect(merged.merged[0].undone).toMatchObject({ copy_path: out.copy_path });
    expect((await cli(sb, b, ['conflicts', '--merged'])).stdout).toContain(`UNDONE: other side kept as ${out.copy_path}`);

    // A second undo is refused; nothing changes.
    await refused(['conflicts', 'undo', 'notes.md'], /already undone/);

    // The next sync pushes the copy; the other device gets it as an open conflict.
    expect((await cli(sb, b, ['sync-now'])).code).toBe(0);
    expect(sb.git(sb.remote, 'show', `main:${out.copy_path}`)).toBe(ON_B);
    expect(sb.git(sb.remote, 'show', 'main:notes.md')).toBe(MERGED);
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    expect(readFileSync(join(a, out.copy_path), 'utf8')).toBe(ON_B);
    expect((await statusJson(sb, a)).conflicts.open).toBe(1);

    // And --resolve closes it as any other copy.
    expect((await cli(sb, b, ['conflicts', '--resolve', 'notes.md'])).code).toBe(0);
    expect(existsSync(join(b, out.copy_path))).toBe(false);
    expect((await statusJson(sb, b)).conflicts).toEqual({ open: 0, auto_merged: 1 });
  });

  it('undo after a later snapshot was merged (the local side taken whole): the remote side comes back, named after its device', async () => {
    const merged = await race('ideas.txt', 'Ideas\n', 'Ideas\n- first thought\n', 'Ideas\n- first thought\n- second thought\n');
    expect(merged).toBe('Ideas\n- first thought\n- second thought\n');
    const r = await cli(sb, b, ['conflicts', 'undo', '--json', '--', 'ideas.txt']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.side).toBe('remote');
    expect(out.copy_path).toMatch(/^ideas\.sync-conflict-\d{8}-\d{6}-devA\.txt$/);
    expect(readFileSync(join(b, out.copy_path), 'utf8')).toBe('Ideas\n- first thought\n');
    expect(readFileSync(join(b, 'ideas.txt'), 'utf8')).toBe(merged);
  });

  it('undo refuses (exit 2, one line, nothing changed) without a recent auto-merge of the path, or when the file is gone or has markers', async () => {
    await race('notes.md', BASE, ON_A, ON_B);
    await refused(['conflicts', 'undo', 'other.md'], /no recent auto-merge of "other\.md"; recent: "notes\.md"/);
    await refused(['conflicts', 'undo', 'notes.md', '--all'], /takes only a path/);
    await refused(['conflicts', 'undo', '/etc/passwd'], /inside the work tree/);

    writeFileSync(join(b, 'notes.md'), `${MERGED}<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n`);
    await refused(['conflicts', 'undo', 'notes.md'], /has conflict markers/);

    rmSync(join(b, 'notes.md'));
    await refused(['conflicts', 'undo', 'notes.md'], /notes\.md was deleted after the merge/);

    // A side of the merge that is already the file's text: nothing to put back.
    writeFileSync(join(b, 'notes.md'), ON_B);
    await refused(['conflicts', 'undo', 'notes.md'], /already holds the local side/);

    // An edit since the merge that keeps the file a file is kept: undo adds a copy beside it.
    writeFileSync(join(b, 'notes.md'), `${MERGED}more\n`);
    const r = await cli(sb, b, ['conflicts', 'undo', 'notes.md']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(b, 'notes.md'), 'utf8')).toBe(`${MERGED}more\n`);
    expect(copies(b)).toHaveLength(1);
  });

  it('a merge whose sync was withdrawn is not listed, shown or undone', async () => {
    await race('notes.md', BASE, ON_A, ON_B);
    const rec = conflictLog(b).find((c) => c.outcome === 'auto-merged')!;
    writeFileSync(
      join(b, STATE_DIR, 'conflicts.log'),
      logText(b) + JSON.stringify({ time: new Date().toISOString(), resolved: 'notes.md', withdrawn_op: rec.op }) + '\n',
    );
    expect(JSON.parse((await cli(sb, b, ['conflicts', '--merged', '--json'])).stdout).count).toBe(0);
    expect((await statusJson(sb, b)).conflicts).toEqual({ open: 0, auto_merged: 0 });
    await refused(['conflicts', 'undo', 'notes.md'], /no recent auto-merge/);
  });
});
