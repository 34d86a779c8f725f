/**
 * Read-only git helpers for the final check: git is the oracle. Runs the real git (the
 * sandbox env, no recorder) with large buffers.
 */
import { spawnSync } from 'node:child_process';

export interface GitOut {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function gitRun(env: NodeJS.ProcessEnv, cwd: string, args: string[], input?: string): GitOut {
  const r = spawnSync('git', args, { cwd, env, encoding: 'utf8', input, maxBuffer: 1 << 30 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function gitOk(env: NodeJS.ProcessEnv, cwd: string, args: string[]): string {
  const r = gitRun(env, cwd, args);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} in ${cwd} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export function revParse(env: NodeJS.ProcessEnv, cwd: string, rev: string): string | null {
  const r = gitRun(env, cwd, ['rev-parse', '--verify', '-q', rev]);
  return r.code === 0 ? r.stdout.trim() : null;
}

export function isAncestor(env: NodeJS.ProcessEnv, cwd: string, older: string, newer: string): boolean {
  return gitRun(env, cwd, ['merge-base', '--is-ancestor', older, newer]).code === 0;
}

/** path → blob content of a tree (text). */
export function treeFiles(env: NodeJS.ProcessEnv, cwd: string, rev: string): Map<string, string> {
  const out = gitOk(env, cwd, ['ls-tree', '-r', '-z', '--full-tree', rev]);
  const entries: Array<[string, string]> = [];
  for (const rec of out.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    const [, type, sha] = rec.slice(0, tab).split(' ');
    if (type === 'blob' && sha) entries.push([rec.slice(tab + 1), sha]);
  }
  const blobs = catBatch(
    env,
    cwd,
    entries.map(([, sha]) => sha),
  );
  return new Map(entries.map(([path, sha]) => [path, blobs.get(sha)?.content.toString('utf8') ?? '']));
}

export interface BatchObject {
  type: string;
  content: Buffer;
}

/** `git cat-file --batch` for many objects at once. */
export function catBatch(env: NodeJS.ProcessEnv, cwd: string, shas: string[]): Map<string, BatchObject> {
  const map = new Map<string, BatchObject>();
  if (shas.length === 0) return map;
  const r = spawnSync('git', ['cat-file', '--batch'], { cwd, env, input: shas.join('\n') + '\n', maxBuffer: 1 << 30 });
  const buf = r.stdout;
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    const header = buf.subarray(pos, nl).toString('utf8');
    const [sha = '', type = '', sizeText] = header.split(' ');
    if (type === 'missing' || sizeText === undefined) {
      pos = nl + 1;
      continue;
    }
    const size = Number(sizeText);
    map.set(sha, { type, content: buf.subarray(nl + 1, nl + 1 + size) });
    pos = nl + 1 + size + 1;
  }
  return map;
}

export const MARKER_LINE = /^(<{7}|={7}|>{7})( |$)/m;

export interface MarkerHit {
  blob: string;
  path: string;
  line: string;
  /** Refs whose history reaches the blob. */
  refs: string[];
}

/** Every blob of every commit reachable from any ref (and HEAD) with a conflict-marker line. */
export function markerBlobs(env: NodeJS.ProcessEnv, cwd: string): MarkerHit[] {
  const list = gitRun(env, cwd, ['rev-list', '--objects', '--all', 'HEAD']);
  const pathOf = new Map<string, string>();
  for (const line of list.stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) pathOf.set(line.slice(0, sp), line.slice(sp + 1));
  }
  const objs = catBatch(env, cwd, [...pathOf.keys()]);
  const hits: MarkerHit[] = [];
  for (const [sha, o] of objs) {
    if (o.type !== 'blob') continue;
    const m = MARKER_LINE.exec(o.content.toString('latin1'));
    if (!m) continue;
    const refs = gitRun(env, cwd, ['for-each-ref', '--format=%(refname)', '--contains', firstCommitWith(env, cwd, sha) ?? 'HEAD'])
      .stdout.split('\n')
      .filter(Boolean);
    hits.push({ blob: sha, path: pathOf.get(sha) ?? '?', line: m[0], refs });
  }
  return hits;
}

function firstCommitWith(env: NodeJS.ProcessEnv, cwd: string, blob: string): string | null {
  const r = gitRun(env, cwd, ['log', '--all', '--format=%H', `--find-object=${blob}`, '-n', '1']);
  return r.stdout.trim() || null;
}

export interface ReflogEntry {
  old: string;
  new: string;
  message: string;
}

export function readReflogFile(text: string): ReflogEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [head = '', message = ''] = l.split('\t');
      const [old = '', neu = ''] = head.split(' ');
      return { old, new: neu, message };
    });
}
