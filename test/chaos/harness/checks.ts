/**
 * The invariant check after a chaos run (DESIGN.md section 4), with git as the oracle.
 * Each check returns violations (strings that say exactly what broke and where) rather
 * than throwing, so one run reports every broken invariant at once.
 */
import { type Dirent, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { overlappingOps, type GitCall } from '../../helpers/git-recorder.js';
import { gitOk, gitRun, isAncestor, markerBlobs, readReflogFile, revParse, treeFiles } from './gitread.js';
import type { Ledger, TokenRecord } from './ledger.js';
import { isExtraPath } from './trust.js';
import type { Clone, World } from './world.js';

const CONFLICT_COPY = /\.sync-conflict-\d{8}-\d{6}-[A-Za-z0-9_-]+(\.[^/]*)?$/;

/** Conflict copies of `path` in a tree listing: same dir, `<stem>.sync-conflict-…[.ext]`. */
export function copiesOf(path: string, paths: Iterable<string>): string[] {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const prefix = `${dir}${stem}.sync-conflict-`;
  return [...paths].filter((p) => p.startsWith(prefix) && CONFLICT_COPY.test(p));
}

export function checkConvergence(world: World, remoteMain: string): string[] {
  const { sb } = world;
  const v: string[] = [];
  const remoteTree = revParse(sb.env, sb.remote, `${remoteMain}^{tree}`);
  for (const c of world.clones.values()) {
    const head = revParse(sb.env, c.repo, 'HEAD');
    const tree = revParse(sb.env, c.repo, 'HEAD^{tree}');
    const branch = gitRun(sb.env, c.repo, ['symbolic-ref', '-q', 'HEAD']).stdout.trim();
    if (branch !== 'refs/heads/main') v.push(`converge: clone ${c.name} HEAD is not on main (${branch || 'detached'})`);
    if (tree !== remoteTree)
      v.push(`converge: clone ${c.name} HEAD tree ${tree} (commit ${head}) differs from the remote's main tree ${remoteTree} (commit ${remoteMain})`);
    else if (head !== remoteMain) {
      const ahead = gitRun(sb.env, c.repo, ['rev-list', '--count', `${remoteMain}..HEAD`]).stdout.trim();
      if (ahead !== '0') v.push(`converge: clone ${c.name} has ${ahead} commit(s) not on the remote (same tree)`);
    }
    // Ignored files and nested repositories (trust.ts) stay untracked on purpose.
    const dirty = gitRun(sb.env, c.repo, ['status', '--porcelain', '--untracked-files=all'])
      .stdout.split('\n')
      .filter((l) => l.trim() && !(l.startsWith('?? ') && isExtraPath(l.slice(3))));
    if (dirty.length) v.push(`converge: clone ${c.name} work tree not clean:\n${dirty.join('\n')}`);
  }
  return v;
}

export interface TokenVerdict {
  token: TokenRecord;
  where: 'path' | 'copy' | 'elsewhere' | 'history-only' | 'nowhere';
  detail: string;
}

/** Where each required token is in the final tree (`files`: path → content). */
export function locateTokens(world: World, required: TokenRecord[], files: Map<string, string>, remoteMain: string): TokenVerdict[] {
  const has = (content: string | undefined, t: TokenRecord) =>
    content !== undefined && (t.content !== null ? content === t.content : content.split('\n').includes(t.token));
  return required.map((t) => {
    if (has(files.get(t.path), t)) return { token: t, where: 'path', detail: t.path };
    const copy = copiesOf(t.path, files.keys()).find((p) => has(files.get(p), t));
    if (copy) return { token: t, where: 'copy', detail: copy };
    const elsewhere = [...files].find(([, c]) => c.includes(t.token));
    if (elsewhere) return { token: t, where: 'elsewhere', detail: elsewhere[0] };
    const hist = gitRun(world.sb.env, world.sb.remote, ['log', '--format=%h %s', `-S${t.token}`, remoteMain]).stdout.trim();
    if (hist) return { token: t, where: 'history-only', detail: hist.split('\n').slice(0, 4).join(' | ') };
    const anyRef = world.clones.size
      ? [...world.clones.values()]
          .map(
            (c) =>
              `${c.name}: ${gitRun(world.sb.env, c.repo, ['log', '--all', '--format=%h %D %s', `-S${t.token}`])
                .stdout.trim()
                .split('\n')
                .slice(0, 3)
                .join(' | ')}`,
          )
          .join('; ')
      : '';
    return { token: t, where: 'nowhere', detail: anyRef };
  });
}

/**
 * No conflict marker in any blob reachable from any ref (or HEAD) of the remote or a
 * clone. The engine merges in the object store and never writes a marker anywhere, so
 * there is no exception (the old engine's recovery snapshots are gone).
 */
export function checkNoMarkers(world: World): { violations: string[]; notes: string[] } {
  const v: string[] = [];
  const repos: Array<[string, string]> = [['remote', world.sb.remote], ...[...world.clones.values()].map((c): [string, string] => [`clone ${c.name}`, c.repo])];
  for (const [name, repo] of repos) {
    for (const hit of markerBlobs(world.sb.env, repo)) {
      v.push(
        `markers: ${name} has blob ${hit.blob} (${hit.path}) with a conflict-marker line ${JSON.stringify(hit.line)}, reachable from ${hit.refs.join(', ') || 'HEAD'}`,
      );
    }
  }
  return { violations: v, notes: [] };
}

/** No force push: the remote's reflog is one chain where each tip descends from the one before. */
export function checkNoForcePush(world: World, tips: string[]): { violations: string[]; pushes: number } {
  const { sb } = world;
  const v: string[] = [];
  const logFile = join(sb.remote, 'logs', 'refs', 'heads', 'main');
  if (!existsSync(logFile)) return { violations: ['force-push: the remote has no reflog for main (core.logAllRefUpdates)'], pushes: 0 };
  const entries = readReflogFile(readFileSync(logFile, 'utf8'));
  const zero = /^0+$/;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (i > 0 && e.old !== entries[i - 1]!.new)
      v.push(`force-push: reflog entry ${i} starts at ${e.old}, but the previous one ended at ${entries[i - 1]!.new}`);
    if (!zero.test(e.old) && !isAncestor(sb.env, sb.remote, e.old, e.new))
      v.push(`force-push: remote main moved ${e.old} -> ${e.new}, which does not descend from it (${e.message})`);
  }
  for (let i = 1; i < tips.length; i++) {
    if (tips[i] !== tips[i - 1] && !isAncestor(sb.env, sb.remote, tips[i - 1]!, tips[i]!))
      v.push(`force-push: remote tip after round ${i} (${tips[i]}) does not descend from the tip before it (${tips[i - 1]})`);
  }
  return { violations: v, pushes: entries.length };
}

export async function checkLeftovers(world: World): Promise<string[]> {
  const v: string[] = [];
  for (const c of world.clones.values()) {
    const st = await world.cli(c, ['status', '--json']);
    if (st.code !== 0) {
      v.push(`leftovers: status --json failed in ${c.name}: ${st.stderr}`);
      continue;
    }
    const s = JSON.parse(st.stdout) as { lock: { held: boolean; owner: unknown }; queue: { pending: number }; active: unknown };
    // No private index (or merge scratch dir, or message file) of the engine is left.
    const priv = join(c.repo, '.git', 'sync-coordinator');
    let names: string[] = [];
    try {
      names = readdirSync(priv);
    } catch {
      /* none yet */
    }
    for (const n of names.filter((x) => /^(index|msg|merge)-/.test(x))) v.push(`leftovers: clone ${c.name} has the private file .git/sync-coordinator/${n}`);
    if (s.lock.held) v.push(`leftovers: clone ${c.name} lock still held by ${JSON.stringify(s.lock.owner)}`);
    if (s.queue.pending !== 0) v.push(`leftovers: clone ${c.name} has ${s.queue.pending} request(s) still queued after the final syncs`);
    if (s.active) v.push(`leftovers: clone ${c.name} still shows an active operation ${JSON.stringify(s.active)}`);
    if (gitRun(world.sb.env, c.repo, ['symbolic-ref', '-q', 'HEAD']).code !== 0) v.push(`leftovers: clone ${c.name} has a detached HEAD`);
    const gitDir = join(c.repo, '.git');
    for (const f of [
      'rebase-merge',
      'rebase-apply',
      'MERGE_HEAD',
      'CHERRY_PICK_HEAD',
      'REVERT_HEAD',
      'BISECT_LOG',
      'index.lock',
      'HEAD.lock',
      'ORIG_HEAD.lock',
      'packed-refs.lock',
      'config.lock',
    ]) {
      if (existsSync(join(gitDir, f))) v.push(`leftovers: clone ${c.name} has .git/${f}`);
    }
    for (const f of lockFiles(join(gitDir, 'refs'))) v.push(`leftovers: clone ${c.name} has ${f}`);
  }
  for (const f of lockFiles(join(world.sb.remote, 'refs'))) v.push(`leftovers: the remote has ${f}`);
  return v;
}

function lockFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...lockFiles(p));
    else if (e.name.endsWith('.lock')) out.push(p);
  }
  return out;
}

/** Invariant 2: every request-sync that got exit 0 has an outcome (or is still queued). */
export function checkRequests(accepted: Array<{ clone: Clone; id: string }>): string[] {
  const v: string[] = [];
  for (const { clone, id } of accepted) {
    if (existsSync(join(clone.state, 'results', `${id}.json`)) || existsSync(join(clone.state, 'queue', `${id}.json`))) continue;
    v.push(`requests: request ${id} in clone ${clone.name} got exit 0 but has neither an outcome in results/ nor a queue file`);
  }
  return v;
}

// Writing or talking to the remote. `ls-remote` is not here: the user daemon's remote
// probe (DESIGN.md section 11) is the one read-only remote call allowed outside the lock,
// without an op id (the exception to invariant 12).
const WRITING = new Set([
  'add',
  'am',
  'apply',
  'branch',
  'checkout',
  'cherry-pick',
  'clean',
  'commit',
  'commit-tree',
  'fetch',
  'gc',
  'merge',
  'mv',
  'pull',
  'push',
  'rebase',
  'reset',
  'restore',
  'revert',
  'rm',
  'stash',
  'switch',
  'tag',
  'update-index',
  'update-ref',
  'write-tree',
]);

/** The git subcommand of a recorded call (after -c/-C and global options). */
export function subcommand(args: string): string {
  const parts = args.split(' ');
  for (let i = 0; i < parts.length; i++) {
    const a = parts[i]!;
    if (a === '-c' || a === '-C') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a;
  }
  return '';
}

/**
 * The recorder's log, read tolerantly: an argument with a newline (a commit message
 * given with -m) continues on the next lines, so a record starts only at a line that
 * begins with two nanosecond timestamps.
 */
export function readCalls(logFile: string): GitCall[] {
  if (!existsSync(logFile)) return [];
  const out: GitCall[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const m = /^(\d{10,}) (\d{10,}) (\S+) (\d+) (.*)$/.exec(line);
    if (m) out.push({ start: BigInt(m[1]!), end: BigInt(m[2]!), op: m[3] === '-' ? null : m[3]!, pid: Number(m[4]), args: m[5]! });
    else if (out.length && line) out[out.length - 1]!.args += `\n${line}`;
  }
  return out;
}

/** Invariants 1 and 12 from the git recorder of each clone. */
export function checkGitCalls(world: World): { violations: string[]; calls: number } {
  const v: string[] = [];
  let total = 0;
  for (const c of world.clones.values()) {
    const calls = readCalls(c.recorder.logFile);
    total += calls.length;
    const overlaps = overlappingOps(calls);
    const show = (k: GitCall) => JSON.stringify(k.args.slice(0, 160));
    for (const [x, y] of overlaps.slice(0, 5))
      v.push(`one-writer: clone ${c.name}: git of op ${x.op} (pid ${x.pid}: ${show(x)}) overlaps git of op ${y.op} (pid ${y.pid}: ${show(y)})`);
    if (overlaps.length > 5) v.push(`one-writer: clone ${c.name}: ${overlaps.length - 5} more overlapping pairs`);
    const opless = calls.filter((k) => !k.op && WRITING.has(subcommand(k.args)));
    for (const k of opless.slice(0, 5)) v.push(`read-only-outside-lock: clone ${c.name}: git without op id ran a writing command: ${show(k)}`);
  }
  return { violations: v, calls: total };
}

/**
 * The engine integrates in the object store: none of its git calls may be a porcelain
 * that rewrites or merges in the work tree, restores files, or forces a push.
 */
export function checkEngineGit(world: World): string[] {
  const v: string[] = [];
  for (const c of world.clones.values()) {
    const bad = readCalls(c.recorder.logFile).filter((k) => k.op && forbiddenCall(k.args));
    for (const k of bad.slice(0, 5)) v.push(`engine: clone ${c.name}: op ${k.op} ran ${JSON.stringify(k.args.slice(0, 160))}`);
    if (bad.length > 5) v.push(`engine: clone ${c.name}: ${bad.length - 5} more such calls`);
  }
  return v;
}

const FORBIDDEN = new Set(['rebase', 'merge', 'cherry-pick', 'revert', 'checkout', 'checkout-index', 'switch', 'restore', 'stash', 'pull', 'am', 'clean']);

export function forbiddenCall(args: string): boolean {
  const sub = subcommand(args);
  if (FORBIDDEN.has(sub)) return true;
  const parts = args.split(/\s+/);
  if (sub === 'reset' && parts.includes('--hard')) return true;
  if (sub === 'push') {
    const after = parts.slice(parts.indexOf('push') + 1);
    if (after.some((a) => a === '-f' || a.startsWith('--force') || a === '--mirror' || (a.startsWith('+') && a.includes(':')))) return true;
  }
  return false;
}

export function remoteFsck(world: World): string[] {
  const r = gitRun(world.sb.env, world.sb.remote, ['fsck', '--no-dangling', '--no-progress']);
  return r.code === 0 ? [] : [`remote: git fsck failed: ${r.stderr.trim().slice(0, 400)}`];
}

/** How many records of each outcome all clones' conflicts.log hold (copy-created, auto-merged, ...). */
export function conflictOutcomes(world: World): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of world.clones.values()) {
    let text = '';
    try {
      text = readFileSync(join(c.state, 'conflicts.log'), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      try {
        const r = JSON.parse(line) as { outcome?: string; withdrawn_op?: string };
        const k = r.outcome ?? (r.withdrawn_op ? 'withdrawn' : null);
        if (k) out[k] = (out[k] ?? 0) + 1;
      } catch {
        /* not a record */
      }
    }
  }
  return out;
}

/** copy_path of every "copy-created" line of every clone's conflicts.log. */
export function loggedCopies(world: World): string[] {
  const out: string[] = [];
  for (const c of world.clones.values()) {
    let text = '';
    try {
      text = readFileSync(join(c.state, 'conflicts.log'), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      try {
        const r = JSON.parse(line) as { outcome?: string; copy_path?: string | null };
        if (r.outcome === 'copy-created' && r.copy_path) out.push(r.copy_path);
      } catch {
        /* not a record */
      }
    }
  }
  return out;
}

export function finalTree(world: World, remoteMain: string): Map<string, string> {
  return treeFiles(world.sb.env, world.sb.remote, remoteMain);
}

export function countCommits(world: World, remoteMain: string): number {
  return Number(gitOk(world.sb.env, world.sb.remote, ['rev-list', '--count', remoteMain]).trim());
}

export interface LedgerResult {
  violations: string[];
  required: number;
  lost: number;
  deletesUndone: number;
  notes: string[];
  inCopies: number;
}

export function ledgerCheck(world: World, ledger: Ledger, files: Map<string, string>, remoteMain: string): LedgerResult {
  const v: string[] = [];
  const report = (text: string) => v.push(text);
  const stamp = (at: number | undefined) => (at === undefined ? '?' : `${new Date(at).toISOString()} (${at})`);
  const required = ledger.required();
  const verdicts = locateTokens(world, required, files, remoteMain);
  const lost = verdicts.filter((x) => x.where !== 'path' && x.where !== 'copy');
  for (const x of lost) {
    const t = x.token;
    const ev = ledger.events.find((e) => e.token === t.token);
    report(
      `lost edit: ${t.token} (clone ${t.clone}, round ${t.round}, at ${stamp(ev?.at)}, ${t.kind}${t.concurrent ? ', made while syncs ran' : ''}) at ${t.path}: ${x.where}${x.detail ? ` [${x.detail}]` : ''}`,
    );
  }
  let deletesUndone = 0;
  const notes: string[] = [];
  for (const d of ledger.deletedOwnFiles()) {
    if (!files.has(d.path)) continue;
    const del = [...ledger.events].reverse().find((e) => e.path === d.path && e.kind === 'own-delete');
    const content = files.get(d.path)!.trim().split('\n').pop();
    const text = `undone delete: ${d.path} (deleted in clone ${d.clone} in round ${del?.round} at ${stamp(del?.at)}${del?.concurrent ? ' while syncs ran' : ''}, removing ${del?.superseded.join(',')}) is back in the final tree with ${content}`;
    deletesUndone++;
    report(text);
  }
  return { violations: v, required: required.length, lost: lost.length, deletesUndone, notes, inCopies: verdicts.filter((x) => x.where === 'copy').length };
}

export { CONFLICT_COPY };

/** How often the coordinator's logs show it coping with the chaos (not violations). */
export function logEvents(world: World): Record<string, number> {
  const patterns: Record<string, RegExp> = {
    lock_takeovers: /took over (the lock of dead owner|a stale lock)/,
    recoveries: /recovered an interrupted sync: (?!nothing)/,
    recoveries_nothing_to_do: /recovered an interrupted sync: nothing to restore/,
    index_completed: /brought the index up to date \(files untouched\)/,
    moves_completed: /had begun moving the files of its new commit but not the branch; finished the move/,
    git_locks_removed: /removed git lock files left by a killed sync/,
    saves_during_move: /a file changed while the sync ran; nothing was overwritten/,
    state_paths_untracked: /the remote tracks \d+ path\(s\) under/,
    orphans_stopped: /stopping git processes left by the interrupted sync/,
    push_retries: /push rejected \(the remote moved meanwhile\)/,
    breaker_opened: /circuit breaker opened/,
    syncs_finished: /"msg":"sync finished"/,
  };
  const counts: Record<string, number> = Object.fromEntries(Object.keys(patterns).map((k) => [k, 0]));
  for (const c of world.clones.values()) {
    let names: string[] = [];
    try {
      names = readdirSync(c.state).filter((n) => /^(coordinator|daemon)\.log/.test(n));
    } catch {
      continue;
    }
    for (const n of names) {
      let text = '';
      try {
        text = readFileSync(join(c.state, n), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) for (const [k, re] of Object.entries(patterns)) if (re.test(line)) counts[k]!++;
    }
  }
  return counts;
}
