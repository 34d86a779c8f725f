/**
 * The CLI contract with a real repository and remote: rate-limit behaviours through
 * request-sync, every bad input of invariant 10 (exit code, one clear line, nothing
 * changed), corrupt files moved aside, and the `status --json` shape.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { snapshot } from '../helpers/snapshot.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';

let sb: Sandbox;
let repo: string;
const STATE = '.claude/sync-coordination';

beforeEach(() => {
  sb = makeSandbox();
  repo = sb.clone('a');
});
afterEach(() => sb.cleanup());

const cli = (args: string[], cwd = repo) => runCli(args, { cwd, env: sb.env });
const status = async () => JSON.parse((await cli(['status', '--json'])).stdout);
function writeConfig(cfg: object) {
  mkdirSync(join(repo, STATE), { recursive: true });
  writeFileSync(join(repo, STATE, 'config.json'), JSON.stringify(cfg));
}
let edits = 0;
const edit = () => writeFileSync(join(repo, `edit-${edits++}.txt`), `${edits}\n`);

describe('rate limit through request-sync (invariant 6)', () => {
  it('normal rejected at once with the reset time, low deferred, high uses the burst, critical overrides, no-ops do not count', async () => {
    writeConfig({ max_syncs_per_hour: 2, burst_capacity: 1 });
    // A no-op sync does not count.
    expect((await cli(['request-sync', 'smart', 'noop'])).code).toBe(0);
    expect((await status()).rate_limit).toMatchObject({ used: 0, resets_at: null });
    for (let i = 0; i < 2; i++) {
      edit();
      const r = await cli(['request-sync', 'smart', `t${i}`, '--json', '--wait']);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'processed', result: 'ok' });
    }
    expect((await status()).rate_limit).toMatchObject({ used: 2, limit: 2, burst: 1 });

    edit();
    const rejected = await cli(['request-sync', 'smart', 'over', 'normal', '--json']);
    expect(rejected.code).toBe(3);
    // --json prints exactly the contract's keys; the reason and the reset time go to stderr.
    const rj = JSON.parse(rejected.stdout);
    expect(Object.keys(rj).sort()).toEqual(['id', 'priority', 'status', 'type']);
    expect(rj.status).toBe('rejected');
    expect(rejected.stderr).toContain(`resets at ${(await status()).rate_limit.resets_at}`);
    const human = await cli(['request-sync', 'smart', 'over', 'normal']);
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/resets at \d{4}-\d\d-\d\dT/);

    const low = await cli(['request-sync', 'intelligent-auto', 'watcher', 'low', '--json']);
    expect(low.code).toBe(0);
    expect(JSON.parse(low.stdout).status).toBe('deferred');
    let s = await status();
    expect(s.queue).toMatchObject({ pending: 1, deferred: 1 });

    // high: burst; serves the deferred low request too (coalesced).
    const high = await cli(['request-sync', 'manual', 'me', 'high', '--json', '--wait']);
    expect(JSON.parse(high.stdout)).toMatchObject({ status: expect.stringMatching(/processed|merged/), result: 'ok' });
    s = await status();
    expect(s.queue.pending).toBe(0);
    expect(s.rate_limit.used).toBe(3);

    edit();
    const high2 = await cli(['request-sync', 'manual', 'me', 'high', '--json']);
    expect(high2.code).toBe(3);

    const critical = await cli(['request-sync', 'robust', 'ops', 'critical', '--json', '--wait']);
    expect(critical.code).toBe(0);
    expect(JSON.parse(critical.stdout)).toEqual({
      id: expect.stringMatching(/^\d{13}-\d+-[0-9a-f]{8}$/),
      status: 'processed',
      type: 'robust',
      priority: 'critical',
      result: 'ok',
    });
    s = await status();
    expect(s.rate_limit.used).toBe(4);
    expect(s.stats.rejected).toBe(3);
    expect(s.stats.deferred).toBe(1);
    // Every request is accounted for: 1 noop + 2 + 2 rejected + 1 low + 1 high + 1 rejected + 1 critical.
    expect(s.stats.requests).toBe(9);
  }, 60_000);
});

describe('bad input (invariant 10): exit code, one clear line, nothing changed', () => {
  const cases: Array<[string, string[], number, RegExp]> = [
    ['unknown type', ['request-sync', 'bogus', 'me'], 2, /unknown sync type "bogus"; valid types: intelligent-auto, smart, robust, manual, post-merge/],
    ['unknown priority', ['request-sync', 'smart', 'me', 'urgent'], 2, /unknown priority "urgent"; valid priorities: critical, high, normal, low/],
    ['caller with control characters', ['request-sync', 'smart', 'a\u001b[31mb'], 2, /caller contains control characters/],
    ['reason with a newline', ['request-sync', 'smart', 'me', 'normal', 'line1\nline2'], 2, /reason contains control characters/],
    ['caller over 1 KiB', ['request-sync', 'smart', 'x'.repeat(1025)], 2, /caller is longer than 1 KiB/],
    ['reason over 1 KiB', ['request-sync', 'smart', 'me', 'normal', 'é'.repeat(513)], 2, /reason is longer than 1 KiB/],
    ['empty caller', ['request-sync', 'smart', ''], 2, /caller must not be empty/],
    ['missing arguments', ['request-sync', 'smart'], 2, /missing required argument 'caller'/],
    ['unknown command', ['frobnicate'], 2, /unknown command 'frobnicate'/],
    ['bad --timeout', ['request-sync', 'smart', 'me', '--wait', '--timeout', 'soon'], 2, /--timeout must be a number/],
    ['negative daemon stop --timeout', ['daemon', 'stop', '--timeout', '-1'], 2, /--timeout must be a number of seconds >= 0/],
    ['fractional daemon logs --lines', ['daemon', 'logs', '--lines', '2.5'], 2, /--lines must be a whole number >= 0/],
    ['--limit past its bound', ['conflicts', '--merged', '--limit', '10001'], 2, /--limit must be a whole number from 1 to 10000/],
  ];
  for (const [name, args, code, message] of cases) {
    it(name, async () => {
      edit();
      const before = snapshot(repo);
      const r = await cli(args);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('(run with --help')).length,
      ).toBe(1);
      expect(r.stderr).not.toMatch(/\u001b/);
      expect(snapshot(repo)).toEqual(before);
    });
  }

  const configs: Array<[string, unknown, RegExp]> = [
    ['unknown top-level key', { max_syncs_per_hour: 5, colour: 'blue' }, /unknown key "colour"/],
    ['unknown nested key', { retries: { default: 2, forever: true } }, /unknown key "retries.forever"/],
    ['deeply nested bad value', { log: { level: 'loud' } }, /"log.level"/],
    ['negative number', { max_syncs_per_hour: -1 }, /"max_syncs_per_hour"/],
    ['wrong type', { watch: { enabled: 'yes' } }, /"watch.enabled"/],
    ['remote that looks like an option', { remote: '--upload-pack=evil' }, /"remote"/],
    ['not JSON', 'not json at all', /is not valid JSON/],
  ];
  for (const [name, cfg, message] of configs) {
    it(`invalid config: ${name}`, async () => {
      mkdirSync(join(repo, STATE), { recursive: true });
      writeFileSync(join(repo, STATE, 'config.json'), typeof cfg === 'string' ? cfg : JSON.stringify(cfg));
      edit();
      const before = snapshot(repo);
      for (const args of [['request-sync', 'smart', 'me'], ['process'], ['status'], ['sync-now']]) {
        const r = await cli(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      expect(snapshot(repo)).toEqual(before);
    });
  }

  it('not a git work tree: exit 6, nothing created', async () => {
    const plain = join(sb.dir, 'plain');
    mkdirSync(plain);
    for (const args of [['request-sync', 'smart', 'me'], ['status'], ['init'], ['process']]) {
      const r = await cli(args, plain);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/not inside a git work tree/);
    }
    expect(readdirSync(plain)).toEqual([]);
    // A -C path that does not exist is bad input (exit 2), not "not a repository" (issue 12).
    const r = await runCli(['-C', join(sb.dir, 'nowhere'), 'status'], { cwd: repo, env: sb.env });
    expect(r.code).toBe(2);
  });

  it('state directory that is a symlink: exit 2, the link target untouched', async () => {
    const elsewhere = join(sb.dir, 'elsewhere');
    mkdirSync(elsewhere);
    mkdirSync(join(repo, '.claude'));
    symlinkSync(elsewhere, join(repo, STATE));
    for (const args of [['request-sync', 'smart', 'me'], ['init'], ['process']]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is a symlink/);
    }
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('state directory path that is a file: exit 2', async () => {
    mkdirSync(join(repo, '.claude'));
    writeFileSync(join(repo, STATE), 'x');
    const r = await cli(['request-sync', 'smart', 'me']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a directory/);
  });

  it.skipIf(process.getuid?.() === 0)('state directory that is not writable: exit 2', async () => {
    mkdirSync(join(repo, STATE), { recursive: true });
    chmodSync(join(repo, STATE), 0o555);
    const r = await cli(['request-sync', 'smart', 'me']);
    chmodSync(join(repo, STATE), 0o755);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not writable/);
  });

  it('corrupt state and queue files are moved aside, never fatal', async () => {
    await cli(['init']);
    const dir = join(repo, STATE);
    writeFileSync(join(dir, 'coordinator-state.json'), '{"version": 1, "stats": tru');
    writeFileSync(join(dir, 'queue', '0000000000001-1-deadbeef.json'), 'garbage{');
    edit();
    const r = await cli(['request-sync', 'smart', 'me', '--json', '--wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('ok');
    expect(readdirSync(dir).some((n) => /^coordinator-state\.json\.corrupt-/.test(n))).toBe(true);
    expect(readdirSync(join(dir, 'queue')).some((n) => /^0000000000001-1-deadbeef\.json\.corrupt-/.test(n))).toBe(true);
    const log = readFileSync(join(dir, 'coordinator.log'), 'utf8');
    expect(log).toMatch(/corrupt coordinator-state.json moved aside/);
    expect(log).toMatch(/corrupt queue file moved aside/);
    expect((await status()).stats.requests).toBe(1);
  });
});

describe('sync-now', () => {
  it('--json prints exactly one JSON object; plain output lists the steps', async () => {
    edit();
    const j = await cli(['sync-now', '--json']);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ status: 'processed', type: 'manual', priority: 'high', result: 'ok' });
    edit();
    const plain = await cli(['sync-now']);
    expect(plain.code).toBe(0);
    // After a local commit the push goes first; fetch and integrate run only if the remote moved.
    expect(plain.stdout).toMatch(/step: preflight\nstep: commit\nstep: push\nok: /);
  });
});

describe('status --json', () => {
  it('has every key of the contract with the right types', async () => {
    edit();
    await cli(['request-sync', 'smart', 'me']);
    await cli(['request-sync', 'intelligent-auto', 'w', '--enqueue-only']);
    const s = await status();
    const isoOrNull = (v: unknown) => v === null || (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
    expect(s.lock).toEqual({ held: false, stale: false, owner: null });
    expect(s.queue).toEqual({ pending: 1, deferred: 0, by_priority: { critical: 0, high: 0, normal: 0, low: 1 } });
    expect(Object.keys(s.rate_limit).sort()).toEqual(['burst', 'enabled', 'limit', 'resets_at', 'used']);
    expect(s.rate_limit).toMatchObject({ enabled: true, limit: 12, burst: 3, used: 1 });
    expect(isoOrNull(s.rate_limit.resets_at)).toBe(true);
    expect(s.active).toBeNull();
    for (const k of ['requests', 'merged', 'syncs_ok', 'syncs_failed', 'rejected', 'deferred']) expect(typeof s.stats[k]).toBe('number');
    expect(isoOrNull(s.stats.last_success_at)).toBe(true);
    expect(s.stats.last_error === null || typeof s.stats.last_error === 'string').toBe(true);
    expect(s.breaker).toEqual({ state: 'closed', failures: 0, open_until: null });
    expect(s.daemon).toMatchObject({ running: false, pid: null });
    expect(s.watcher).toBeNull();
    expect(s.conflicts).toEqual({ open: 0, auto_merged: 0 });
    const human = await cli(['status']);
    expect(human.stdout).toMatch(/queue: +1 pending/);
    expect(existsSync(join(repo, STATE, 'coordinator-state.json'))).toBe(true);
  });

  it('shows a held lock with its owner, and the state dir is excluded from git', async () => {
    await cli(['init']);
    expect(readFileSync(join(repo, '.git/info/exclude'), 'utf8')).toContain('/.claude/sync-coordination/');
    expect(sb.git(repo, 'status', '--porcelain')).toBe('');
  });
});
