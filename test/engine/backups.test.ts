/**
 * Backup refs: one before every rewrite, pruned by the `backups` config using the
 * backup's own creation time (from its op id), not the date of the commit it points at.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { cli, commitAll, setupDevice, testConfig } from './engine-helpers.js';

const PREFIX = 'refs/sync-coordinator/backup/';

describe('backup refs', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-backups-');
    a = sb.clone('a');
    b = sb.clone('b');
    await setupDevice(sb, a, testConfig('devA', { backups: { keep: 2, max_age_days: 14 } }));
  });
  afterAll(() => sb?.cleanup());

  it("saves one before each rebase and prunes by count and by the backup's age", async () => {
    // An old backup that points at a brand-new commit: only its op id tells its age.
    sb.git(a, 'update-ref', `${PREFIX}20200101-000000-abcdef`, 'HEAD');
    const ops: string[] = [];
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(b, `b${i}.txt`), `${i}\n`);
      commitAll(sb, b, `b${i}`);
      sb.git(b, 'pull', '-q', '--rebase', 'origin', 'main');
      sb.git(b, 'push', '-q', 'origin', 'main');
      writeFileSync(join(a, `a${i}.txt`), `${i}\n`);
      const r = await cli(sb, a, ['sync-now', '--json']);
      expect(r.code, r.stderr).toBe(0);
      // (sync-now --json also prints 'step:' lines when stdout is not a TTY; the JSON is the last line.)
      ops.push(JSON.parse(r.stdout.trim().split('\n').pop()!).op);
    }
    const refs = sb.git(a, 'for-each-ref', '--format=%(refname)', PREFIX).split('\n').filter(Boolean);
    expect(refs).not.toContain(`${PREFIX}20200101-000000-abcdef`);
    // keep = 2 ops (op ids have 1 s resolution, so which older op stays is a tie within
    // a second); the current op's backup is always kept.
    const kept = refs.map((r) => r.slice(PREFIX.length));
    expect(kept).toHaveLength(2);
    expect(kept).toContain(ops[2]);
    for (const k of kept) expect(ops).toContain(k);
    const backup = sb.git(a, 'rev-parse', `${PREFIX}${ops[2]}`).trim();
    expect(sb.git(a, 'log', '-1', '--format=%B', backup)).toContain(`Sync-Op: ${ops[2]}`);
  });
});
