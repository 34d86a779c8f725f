/**
 * Issue 11's events in the chaos run, and their checks (DESIGN.md invariants 14 and 16).
 *
 * - A rogue device: a plain git clone (no coordinator) that, at random moments, commits
 *   files under the state directory with `git add -f` and pushes them (never forced):
 *   `config.json` (settings that would break the devices if read), `hooks/post-merge.sh`
 *   (a script that leaves a `PWNED` file if it ever runs) and `lock-owner.json` (an owner
 *   named "rogue-device").
 * - A user who adds, at random moments, files matching the devices' `watch.ignore` globs
 *   and nested repositories (a directory with its own `git init`, with or without a
 *   commit, moved into the work tree in one rename so no sync sees it half made).
 *
 * Checks: every device's own state files (`config.json`, its `hooks/post-merge.sh`)
 * byte-identical through the run, its lock owner never the rogue's, its index never
 * tracking a state path (a device whose index does refuses to sync: that refusal counts
 * as the violation it reveals), the rogue's hook never ran; no ignored or nested path,
 * and no gitlink, ever reachable on the remote; every ignored file and nested repository
 * still in its device's work tree at the end (0 lost).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OWN_STATE_FILES } from './device-files.js';
import { gitRun } from './gitread.js';
import type { Rng } from './prng.js';
import type { Clone, World } from './world.js';

export const STATE_REL = '.claude/sync-coordination';
export const ROGUE_CALLER = 'rogue-device';

/** True for a path that only a device's user makes and no sync may ever commit. */
export function isExtraPath(path: string): boolean {
  return path.startsWith('secrets/') || path.startsWith('nested/') || path.endsWith('.key');
}

export interface Extra {
  clone: string;
  kind: 'ignored' | 'nested';
  /** Work-tree relative path (a file, or the nested repository's directory). */
  path: string;
  /** Expected content of the file (ignored), or of nested/<n>/inner.txt. */
  content: string;
  committed: boolean;
}

export class TrustEvents {
  readonly extras: Extra[] = [];
  statePushes = 0;
  statePushAttempts = 0;
  private seq = 0;
  readonly violations: string[] = [];
  readonly rogue: string;
  private readonly pwned: string;

  constructor(private readonly world: World) {
    this.rogue = world.rogueRepo;
    this.pwned = join(world.sb.dir, 'PWNED');
  }

  /** The rogue device pushes state files (a plain `git push`, retried once on a race). */
  roguePush(round: number): void {
    const { sb } = this.world;
    const git = (...args: string[]) => gitRun(sb.env, this.rogue, args);
    this.statePushAttempts++;
    const n = ++this.seq;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (git('fetch', '-q', 'origin').code !== 0) return;
      git('reset', '-q', '--hard', 'origin/main');
      const state = join(this.rogue, STATE_REL);
      mkdirSync(join(state, 'hooks'), { recursive: true });
      writeFileSync(
        join(state, 'config.json'),
        JSON.stringify(
          {
            device_name: 'ROGUE',
            user_conflict_policy: 'manual',
            max_syncs_per_hour: 1,
            rate_limiting_enabled: true,
            note: `rogue push ${n} in round ${round}`,
          },
          null,
          2,
        ) + '\n',
      );
      writeFileSync(join(state, 'hooks', 'post-merge.sh'), `#!/bin/sh\n# rogue push ${n}\n: > '${this.pwned}'\n`);
      writeFileSync(
        join(state, 'lock-owner.json'),
        JSON.stringify({ caller: ROGUE_CALLER, pid: 1, start_time: 1, boot_id: 'rogue', host: 'rogue-host', op: 'rogue', since: new Date().toISOString() }) +
          '\n',
      );
      git('add', '-f', `${STATE_REL}/config.json`, `${STATE_REL}/hooks/post-merge.sh`, `${STATE_REL}/lock-owner.json`);
      if (git('commit', '-q', '-m', `rogue device: state files (${n})`).code !== 0) return;
      if (git('push', '-q', 'origin', 'HEAD:refs/heads/main').code === 0) {
        this.statePushes++;
        return;
      }
    }
  }

  /** A file matching a `watch.ignore` glob, written in one call. */
  addIgnored(c: Clone): void {
    const n = ++this.seq;
    const path = n % 2 ? `secrets/${c.name}-${n}.txt` : `own/${c.name}/k${n}.key`;
    const content = `secret ${n} of ${c.name}: do not publish\n`;
    mkdirSync(dirname(join(c.repo, path)), { recursive: true });
    writeFileSync(join(c.repo, path), content);
    this.extras.push({ clone: c.name, kind: 'ignored', path, content, committed: false });
  }

  /** A nested repository, built aside and renamed into the work tree at once. */
  addNested(c: Clone, rng: Rng): void {
    const { sb } = this.world;
    const n = ++this.seq;
    const path = `nested/${c.name}-${n}`;
    const aside = join(sb.dir, 'nested-build', `${c.name}-${n}`);
    mkdirSync(aside, { recursive: true });
    gitRun(sb.env, aside, ['init', '-q']);
    const content = `inner file of nested repository ${n} in ${c.name}\n`;
    writeFileSync(join(aside, 'inner.txt'), content);
    const committed = rng.chance(0.6);
    if (committed) {
      gitRun(sb.env, aside, ['add', 'inner.txt']);
      gitRun(sb.env, aside, ['-c', 'user.name=nested', '-c', 'user.email=nested@example.invalid', 'commit', '-q', '-m', 'inner']);
    }
    mkdirSync(join(c.repo, 'nested'), { recursive: true });
    renameSync(aside, join(c.repo, path));
    this.extras.push({ clone: c.name, kind: 'nested', path, content, committed });
  }

  /** Sampled during the run: the devices' own state files are untouched. */
  sampleState(): void {
    for (const c of this.world.clones.values()) {
      for (const rel of OWN_STATE_FILES) {
        const want = this.world.ownState.get(`${c.name}/${rel}`);
        let got: Buffer | null = null;
        try {
          got = readFileSync(join(c.state, rel));
        } catch {
          got = null;
        }
        if (!got || !want || !got.equals(want))
          this.once(
            `state files: clone ${c.name}'s ${STATE_REL}/${rel} changed during the run (now ${got ? JSON.stringify(got.toString('utf8').slice(0, 120)) : 'missing'})`,
          );
      }
      try {
        const owner = readFileSync(join(c.state, 'lock-owner.json'), 'utf8');
        if (owner.includes(ROGUE_CALLER)) this.once(`state files: clone ${c.name}'s lock-owner.json is the rogue device's (checked out from the remote)`);
      } catch {
        /* no owner now */
      }
    }
    if (existsSync(this.pwned)) this.once("state files: the rogue device's hooks/post-merge.sh ran on a device");
  }

  private once(v: string): void {
    if (!this.violations.includes(v)) this.violations.push(v);
  }

  /** The final checks (after the quiet rounds). */
  check(): string[] {
    this.sampleState();
    const v = [...this.violations];
    const { sb } = this.world;
    for (const c of this.world.clones.values()) {
      const tracked = gitRun(sb.env, c.repo, ['ls-files', '-z', '--', STATE_REL]).stdout.split('\0').filter(Boolean);
      if (tracked.length) v.push(`state files: clone ${c.name}'s index tracks ${tracked.join(', ')} (a sync checked state files out)`);
    }
    v.push(...remotePathsEver(this.world));
    for (const x of this.extras) {
      const c = this.world.clone(x.clone as never);
      const file = x.kind === 'nested' ? join(c.repo, x.path, 'inner.txt') : join(c.repo, x.path);
      let got: string | null = null;
      try {
        got = readFileSync(file, 'utf8');
      } catch {
        got = null;
      }
      if (got !== x.content) v.push(`lost ${x.kind}: ${x.path} in clone ${x.clone} ${got === null ? 'is gone' : 'changed'} from the work tree`);
      if (x.kind === 'nested' && !existsSync(join(c.repo, x.path, '.git'))) v.push(`lost nested: ${x.path} in clone ${x.clone} lost its .git`);
    }
    return v;
  }

  get nestedCount(): number {
    return this.extras.filter((x) => x.kind === 'nested').length;
  }

  get ignoredCount(): number {
    return this.extras.filter((x) => x.kind === 'ignored').length;
  }
}

/**
 * Every path any commit reachable on the remote ever added or changed: none may be an
 * ignored or nested path, and none a gitlink (mode 160000).
 */
export function remotePathsEver(world: World): string[] {
  const { sb } = world;
  const v: string[] = [];
  const out = gitRun(sb.env, sb.remote, ['log', '--all', '--root', '-m', '--raw', '--no-renames', '--no-abbrev', '--format=commit %H']).stdout;
  let commit = '';
  const seen = new Set<string>();
  for (const line of out.split('\n')) {
    if (line.startsWith('commit ')) {
      commit = line.slice(7, 19);
      continue;
    }
    if (!line.startsWith(':')) continue;
    const tab = line.indexOf('\t');
    const [, newMode = ''] = line.slice(1, tab).split(' ');
    const path = line.slice(tab + 1);
    if (/^0+$/.test(newMode)) continue; // a deletion: the addition is in history too
    const what = newMode === '160000' ? `a gitlink ${path}` : isExtraPath(path) ? `ignored/nested path ${path}` : null;
    if (what && !seen.has(what)) {
      seen.add(what);
      v.push(`published: the remote has ${what} (commit ${commit})`);
    }
  }
  return v;
}
