/**
 * Invariant 4: before every commit and every `rebase --continue` of a sync, no unmerged
 * path, and no file that was in conflict during this sync carries a conflict marker.
 *
 * The conflict policy only ever stages whole blobs taken verbatim from one side of the
 * conflict (stage 1, 2 or 3), so a staged blob that is one of those cannot contain a
 * marker git wrote; markers in it are the user's own content ("a marker the user typed
 * into a file before the sync is the user's content"). Any other staged content of such a
 * path is checked twice: the "leftover conflict marker" findings of
 * `git diff --cached --check` (whitespace findings ignored) and a marker regex over the
 * staged blob. Either finding blocks.
 */
import { SyncFailedError } from '../core/errors.js';
import type { Git } from './git.js';
import { unmergedPaths } from './preflight.js';

const MARKER_LINE = /^(?:<{7}|>{7}|\|{7})(?: |$)|^={7}$/;

/** Lines of `text` that look like conflict markers (pure). */
export function markerLines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => MARKER_LINE.test(l));
}

/** Undo git's C-style quoting of a path (`"a\nb"` → a, newline, b). */
export function unquoteGitPath(s: string): string {
  if (!(s.length >= 2 && s.startsWith('"') && s.endsWith('"'))) return s;
  const body = s.slice(1, -1);
  const bytes: number[] = [];
  const simple: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = body[i + 1] ?? '';
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(simple[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface CheckFinding {
  path: string;
  line: number;
  what: string;
}

/** Parse `git diff --check` output; keeps only "leftover conflict marker" findings (pure). */
export function parseCheckMarkers(out: string): CheckFinding[] {
  const found: CheckFinding[] = [];
  for (const line of out.split('\n')) {
    const m = /^("(?:[^"\\]|\\.)*"|.*?):(\d+): (.*)$/.exec(line);
    if (!m || !/leftover conflict marker/.test(m[3]!)) continue;
    found.push({ path: unquoteGitPath(m[1]!), line: Number(m[2]), what: m[3]! });
  }
  return found;
}

/**
 * Paths in conflict during this sync, with the blobs that may legitimately be staged at
 * them (the verbatim sides the policy chose from). Shared by every stop of one sync.
 */
export type ConflictTracker = Map<string, Set<string>>;

export function track(tracker: ConflictTracker, path: string, ...blobs: Array<string | null | undefined>): void {
  const set = tracker.get(path) ?? new Set<string>();
  for (const b of blobs) if (b) set.add(b);
  tracker.set(path, set);
}

/** Staged blob ids of `paths` (stage 0 only). */
async function stagedBlobs(git: Git, paths: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  const res = await git.run(['ls-files', '-s', '-z', '--', ...paths], { readOnly: true, literalPaths: true });
  for (const rec of res.stdout.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    const [, sha, stage] = rec.slice(0, tab).split(' ');
    if (stage === '0' && sha) out.set(rec.slice(tab + 1), sha);
  }
  return out;
}

async function blobText(git: Git, sha: string): Promise<string> {
  return (await git.run(['cat-file', 'blob', sha], { readOnly: true })).stdout;
}

/** Throws unless the index is safe to commit / continue with (invariant 4). */
export async function assertCommittable(git: Git, tracker: ConflictTracker, when: string): Promise<void> {
  const unmerged = await unmergedPaths(git);
  if (unmerged.length > 0) {
    throw new SyncFailedError(`refusing to ${when}: ${unmerged.length} path(s) still unmerged (${unmerged.slice(0, 3).join(', ')})`, { code: 'EUNMERGED' });
  }
  const paths = [...tracker.keys()];
  if (paths.length === 0) return;
  const staged = await stagedBlobs(git, paths);
  const suspicious = new Set<string>();
  for (const [path, sha] of staged) {
    if (!tracker.get(path)?.has(sha)) suspicious.add(path);
  }
  const check = await git.run(['diff', '--cached', '--check', '--', ...paths], { readOnly: true, okCodes: [1, 2], literalPaths: true });
  const findings = parseCheckMarkers(check.stdout).filter((f) => suspicious.has(f.path));
  for (const path of suspicious) {
    const markers = markerLines(await blobText(git, staged.get(path)!));
    if (markers.length > 0 && !findings.some((f) => f.path === path)) findings.push({ path, line: 0, what: 'conflict marker in staged content' });
  }
  if (findings.length > 0) {
    throw new SyncFailedError(`refusing to ${when}: conflict markers staged in ${[...new Set(findings.map((f) => f.path))].slice(0, 3).join(', ')}`, { code: 'EMARKER' });
  }
}

/**
 * Last gate before pushing: every path that was in conflict during this sync, as it is
 * in HEAD, carries no marker line that is not already in one of its verbatim sides.
 * (A later local commit replayed cleanly on top of a resolution changes the blob; its
 * own marker-like lines, if any, are user content only if a side already had them.)
 */
export async function assertHeadClean(git: Git, tracker: ConflictTracker): Promise<void> {
  const paths = [...tracker.keys()];
  if (paths.length === 0) return;
  const res = await git.run(['ls-tree', '-z', '--full-tree', 'HEAD', '--', ...paths], { readOnly: true, literalPaths: true });
  for (const rec of res.stdout.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    const [, type, sha] = rec.slice(0, tab).split(' ');
    const path = rec.slice(tab + 1);
    const allowed = tracker.get(path);
    if (type !== 'blob' || !sha || !allowed || allowed.has(sha)) continue;
    const markers = markerLines(await blobText(git, sha));
    if (markers.length === 0) continue;
    const known = new Set<string>();
    for (const side of allowed) for (const l of markerLines(await blobText(git, side))) known.add(l);
    if (markers.some((l) => !known.has(l))) {
      throw new SyncFailedError(`refusing to push: ${path} carries conflict markers after integrating the remote`, { code: 'EMARKER' });
    }
  }
}
