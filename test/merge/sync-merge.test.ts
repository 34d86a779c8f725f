/**
 * The resolver inside a real sync (DESIGN.md section 13): two clones of one bare remote
 * edit the same file at the same time; the second device's sync merges both edits
 * where both intents can be kept exactly, and leaves a conflict copy where they collide.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, commitAll, conflictLog, setupDevice, STATE_DIR, testConfig } from '../engine/engine-helpers.js';

describe('concurrent edits merged by the resolver during a sync', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeEach(async () => {
    sb = makeSandbox('sc-merge-sync-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    b = sb.clone('b');
    await setupDevice(sb, b, testConfig('devB'));
  });
  afterEach(() => sb?.cleanup());

  /** Seed `file` on both devices, then edit it on each and sync A, then B. */
  async function race(file: string, base: string, onA: string, onB: string): Promise<string> {
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
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    const onRemote = sb.git(sb.remote, 'show', `main:${file}`);
    expect(readFileSync(join(a, file), 'utf8')).toBe(onRemote);
    expect(readFileSync(join(b, file), 'utf8')).toBe(onRemote);
    return onRemote;
  }

  const copies = (repo: string) => readdirSync(repo).filter((n) => n.includes('.sync-conflict-'));

  it('the same paragraph edited in different sentences on two devices: both edits, no copy', async () => {
    const base = '# Notes\n\nThe meeting is on Monday. Bring the slides. Lunch is provided.\n';
    const merged = await race('notes.md', base, base.replace('Monday', 'Tuesday'), base.replace('Lunch is provided', 'Lunch is not provided'));
    expect(merged).toBe('# Notes\n\nThe meeting is on Tuesday. Bring the slides. Lunch is not provided.\n');
    expect(copies(b)).toEqual([]);
    expect(conflictLog(b).find((c) => c.path === 'notes.md')?.outcome).toBe('auto-merged');
  });

  it('list items inserted at the same place: both kept, the earlier commit first', async () => {
    const base = '- apples\n- pears\n';
    const merged = await race('list.md', base, '- apples\n- cherries\n- pears\n', '- apples\n- plums\n- pears\n');
    expect(merged).toBe('- apples\n- cherries\n- plums\n- pears\n');
    expect(copies(b)).toEqual([]);
  });

  it('a JSON settings file with different keys changed: merged by key, and it parses', async () => {
    const base = '{\n  "theme": "light",\n  "font": 12,\n  "wrap": false\n}\n';
    const merged = await race('settings.json', base, base.replace('"light"', '"dark"'), base.replace('false', 'true'));
    expect(JSON.parse(merged)).toEqual({ theme: 'dark', font: 12, wrap: true });
    expect(merged).toBe('{\n  "theme": "dark",\n  "font": 12,\n  "wrap": true\n}\n');
    expect(copies(b)).toEqual([]);
  });

  it('a log appended on both devices: every line kept', async () => {
    const base = 'start\n';
    const merged = await race('app.log', base, 'start\nfrom A 1\nfrom A 2\n', 'start\nfrom B 1\n');
    expect(merged.split('\n').filter(Boolean).sort()).toEqual(['from A 1', 'from A 2', 'from B 1', 'start']);
    expect(copies(b)).toEqual([]);
  });

  it("a later snapshot of a note on one device while the other device's earlier snapshot is in flight: the later one", async () => {
    const base = 'Ideas\n';
    const merged = await race('ideas.txt', base, 'Ideas\n- first thought\n', 'Ideas\n- first thought\n- second thought\n');
    expect(merged).toBe('Ideas\n- first thought\n- second thought\n');
    expect(copies(b)).toEqual([]);
  });

  it('text-newest (opt-in) for a counter: the newer side wins without a copy, and the other side is logged', async () => {
    for (const [repo, dev] of [
      [a, 'devA'],
      [b, 'devB'],
    ] as const) {
      writeFileSync(
        join(repo, STATE_DIR, 'config.json'),
        JSON.stringify(
          testConfig(dev, {
            merge: [
              { glob: 'counter.txt', strategy: 'text-newest' },
              { glob: '*', strategy: 'text' },
            ],
          }),
        ),
      );
    }
    const merged = await race('counter.txt', 'visits: 10\n', 'visits: 11\n', 'visits: 12\n');
    expect(merged).toBe('visits: 12\n'); // B's commit is the newer one (it synced second)
    expect(copies(b)).toEqual([]);
    const rec = conflictLog(b).find((c) => c.path === 'counter.txt') as unknown as { outcome: string; strategy: string; notes?: string[] };
    expect(rec).toMatchObject({ outcome: 'auto-merged', strategy: 'text-newest' });
    expect(JSON.stringify(rec.notes)).toContain('visits: 11');
  });

  it('the same word changed differently on both devices: still a conflict copy, nothing lost', async () => {
    const base = 'The colour is red.\n';
    const merged = await race('colour.txt', base, 'The colour is blue.\n', 'The colour is green.\n');
    expect(merged).toBe('The colour is blue.\n');
    const [copy] = copies(b);
    expect(copy).toBeTruthy();
    expect(readFileSync(join(b, copy!), 'utf8')).toBe('The colour is green.\n');
  });
});
