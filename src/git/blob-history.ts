/**
 * Versions of a file read out of history, for reviewing conflicts and auto-merges
 * (`conflicts show`, `--merge`, `undo`, the dashboard's diff). Read-only git, except
 * that a file's bytes may be written as a blob to name them. Paths are data: they reach
 * git after `--` with literal pathspecs, or behind a commit id (`<commit>:<path>`).
 */
import { promises as fs } from 'node:fs';
import type { Git } from './git.js';

/** A full object id (SHA-1 or SHA-256). */
export const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The hunks of a blob-to-blob diff (git's header lines dropped; they name blob ids). */
export async function diffBlobs(git: Git, a: string, b: string): Promise<string> {
  if (a === b) return '';
  const r = await git.run(['diff', '--no-color', '--no-ext-diff', '--no-textconv', '-U3', a, b], { readOnly: true, timeoutMs: 60_000 });
  const at = r.stdout.search(/^(@@|Binary files)/m);
  return at < 0 ? '' : r.stdout.slice(at);
}

export async function firstLine(git: Git, args: string[]): Promise<string | null> {
  const r = await git.run(args, { readOnly: true, okCodes: [1, 128], literalPaths: true, timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.split('\n')[0]?.trim() || null : null;
}

/** `<commit>:<path>` as a blob id; the path follows a rev, so it is never an option. */
export async function revBlob(git: Git, spec: string): Promise<string | null> {
  // (A peel suffix would be read as part of the path: the type is checked apart.)
  const r = await git.run(['rev-parse', '--verify', '-q', spec], { readOnly: true, okCodes: [1, 128], timeoutMs: 30_000 });
  const id = r.code === 0 ? r.stdout.trim() : '';
  if (!OID.test(id)) return null;
  const t = await git.run(['cat-file', '-t', id], { readOnly: true, okCodes: [128], timeoutMs: 30_000 });
  return t.code === 0 && t.stdout.trim() === 'blob' ? id : null;
}

export async function hashFile(git: Git, abs: string): Promise<string | null> {
  const data = await fs.readFile(abs).catch(() => null);
  if (!data) return null;
  return (await git.run(['hash-object', '-w', '--stdin'], { input: data })).stdout.trim();
}

export async function emptyBlob(git: Git): Promise<string> {
  return (await git.run(['hash-object', '-w', '--stdin'], { input: Buffer.alloc(0) })).stdout.trim();
}

/** The newest commit on HEAD that made `path` the blob `blob`, and the device it names. */
export async function introducedBy(git: Git, path: string, blob: string): Promise<{ commit: string; device: string | null } | null> {
  const r = await git.run(['log', `--find-object=${blob}`, '--no-abbrev', '--raw', '--no-renames', '--format=%x01%H%x1f%s', 'HEAD', '--', path], {
    readOnly: true,
    okCodes: [128],
    literalPaths: true,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) return null;
  for (const chunk of r.stdout.split('\x01')) {
    const [head = '', ...raw] = chunk.split('\n');
    const [commit = '', subject = ''] = head.split('\x1f');
    if (!commit || !raw.some((l) => l.startsWith(':') && l.split(' ')[3] === blob)) continue;
    const device = /^sync\([^)]*\): .* on ([A-Za-z0-9_-]{1,64})$/.exec(subject)?.[1] ?? null;
    return { commit, device };
  }
  return null;
}

export interface MergeBase {
  commit: string | null;
  blob: Buffer;
  description: string;
}

/**
 * The base of a file and its conflict copy. Nothing records the common ancestor of the
 * two versions, so the best available one is taken from history. The copy was added by
 * commit K (the sync that made it); the file's version at K's parent is the other side's;
 * the commit R that last changed the file before K made that version, and the file as it
 * was before R (R^) is what that side started from: the version both sides most likely
 * edited. When there is no such version (the file was new on both sides) the base is
 * empty and every difference is a conflict; `description` says which base was used.
 */
export async function findMergeBase(git: Git, original: string, copy: string): Promise<MergeBase> {
  const empty = (why: string): MergeBase => ({ commit: null, blob: Buffer.alloc(0), description: `empty (${why}): every difference is marked` });
  const added = await firstLine(git, ['log', '-1', '--format=%H', '--diff-filter=A', 'HEAD', '--', copy]);
  if (!added) return empty('the commit that made the copy is not in this history');
  const changed = await firstLine(git, ['log', '-1', '--format=%H', `${added}^`, '--', original]);
  if (!changed) return empty(`${original} has no earlier version`);
  const parent = await firstLine(git, ['rev-parse', '--verify', '-q', `${changed}^`]);
  if (!parent) return empty(`${original} was created by ${changed.slice(0, 10)}`);
  // `<rev>:<path>` with a commit id in front: the path is data, never an option.
  const blob = await git.run(['cat-file', 'blob', `${parent}:${original}`], { readOnly: true, okCodes: [128], timeoutMs: 30_000 });
  if (blob.code !== 0) return empty(`${original} did not exist before ${changed.slice(0, 10)}`);
  return {
    commit: parent,
    blob: blob.stdoutBytes,
    description: `${original} as of ${parent.slice(0, 10)}, the version that ${changed.slice(0, 10)} (the other side's last change before the copy was made) replaced`,
  };
}
