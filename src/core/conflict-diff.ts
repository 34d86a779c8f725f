/**
 * What each side of a conflict changed against their common base, for the most recent
 * auto-merge of a path (or its open conflict copy): `conflicts show` prints it and the
 * dashboard serves its JSON, so the page and the terminal never disagree. The blobs of
 * an auto-merge are exact: its record names them (base_blob, local_blob, remote_blob,
 * merged_blob). Also the lookups `conflicts undo` shares: the newest auto-merge of a
 * path, and the check that its blobs are still in the repository.
 */
import { join } from 'node:path';
import { UsageError } from '../shared/errors.js';
import { diffBlobs, emptyBlob, findMergeBase, firstLine, hashFile, introducedBy, OID, revBlob } from '../git/blob-history.js';
import { autoMerges, type AutoMergeEntry } from '../git/conflict-log.js';
import type { Git } from '../git/git.js';
import type { ConflictsView, TreeCopy } from '../git/tree-conflicts.js';
import { copiesFor } from './conflict-resolve.js';

export interface DiffSide {
  label: string;
  device: string | null;
  blob: string | null;
  commit?: string | null;
  /** Its hunks against the base; empty when it did not change it. */
  diff: string;
}

export interface ConflictDiff {
  /** What `conflicts show --json` prints and the dashboard serves. */
  json: Record<string, unknown>;
  /** The file the diffs are of, the lines before them, and each side against the base. */
  path: string;
  header: string[];
  sides: [DiffSide, DiffSide];
}

/** The newest auto-merge of `path`, undone or not. */
export function latestMerge(logText: string, path: string): AutoMergeEntry | undefined {
  return autoMerges(logText).find((m) => m.path === path);
}

export function noMerge(logText: string, path: string, what: string): UsageError {
  const recent = [
    ...new Set(
      autoMerges(logText)
        .slice(0, 5)
        .map((m) => m.path),
    ),
  ];
  return new UsageError(
    `no recent auto-merge of ${JSON.stringify(path)}${what}; recent: ${recent.map((p) => JSON.stringify(p)).join(', ') || 'none'} (see: sync-coordinator conflicts --merged)`,
  );
}

export async function conflictDiff(git: Git, path: string, logText: string, view: ConflictsView): Promise<ConflictDiff> {
  const merge = latestMerge(logText, path);
  const copies = copiesFor(view, path);
  // An open conflict copy newer than the merge (or a copy with no merge at all) is shown
  // instead; an undone merge is shown through its record (the blobs are exact).
  const copy = copies.find((c) => !merge || (c.made_at > merge.time.replace(/\.\d+Z$/, 'Z') && c.path !== merge.undone?.copy_path));
  if (merge && !copy) return mergeDiff(git, merge);
  if (copy) return copyDiff(git, copy);
  throw noMerge(logText, path, ' and no open conflict copy of it');
}

async function mergeDiff(git: Git, m: AutoMergeEntry): Promise<ConflictDiff> {
  if (!m.local_blob || !m.remote_blob)
    throw new UsageError(
      `the auto-merge of ${JSON.stringify(m.path)} (op ${m.op}) was recorded without its blob ids; its local side is in refs/sync-coordinator/backup/${m.op}`,
    );
  const ids = [m.base_blob ?? null, m.local_blob, m.remote_blob];
  await requireBlobs(git, ids, m);
  const base = m.base_blob ?? (await emptyBlob(git));
  const remote = await introducedBy(git, m.path, m.remote_blob);
  const [dl, dr] = await Promise.all([diffBlobs(git, base, m.local_blob), diffBlobs(git, base, m.remote_blob)]);
  const local: DiffSide = { label: `${m.device} (this device's side, merged in op ${m.op})`, device: m.device, blob: m.local_blob, diff: dl };
  const other: DiffSide = {
    label: remote
      ? `${remote.device ?? `commit ${remote.commit.slice(0, 10)}`} (the remote's side${remote.device ? `, commit ${remote.commit.slice(0, 10)}` : ''})`
      : "the remote's side",
    device: remote?.device ?? null,
    blob: m.remote_blob,
    commit: remote?.commit ?? null,
    diff: dr,
  };
  return {
    json: {
      path: m.path,
      source: 'auto-merge',
      op: m.op,
      time: m.time,
      strategy: m.strategy ?? null,
      hunks: m.hunks ?? null,
      undone: m.undone,
      base_blob: m.base_blob ?? null,
      merged_blob: m.merged_blob ?? null,
      local: { device: local.device, blob: local.blob, diff: dl },
      remote: { device: other.device, commit: other.commit, blob: other.blob, diff: dr },
    },
    path: m.path,
    header: [
      `${m.path}: auto-merged ${m.time} on ${m.device} (op ${m.op}, strategy ${m.strategy ?? '?'}, ${m.hunks ?? 0} hunk(s))${m.undone ? `; undone, other side kept as ${m.undone.copy_path}` : ''}`,
      `base: ${m.base_blob ? `blob ${m.base_blob.slice(0, 12)}` : 'none (both sides added the file)'}`,
    ],
    sides: [local, other],
  };
}

async function copyDiff(git: Git, c: TreeCopy): Promise<ConflictDiff> {
  const copyBlob = (await revBlob(git, `HEAD:${c.path}`)) ?? (await hashFile(git, join(git.cwd, c.path)));
  if (!copyBlob) throw new UsageError(`${c.path} is neither committed nor a readable file`);
  const added = await firstLine(git, ['log', '-1', '--format=%H', '--diff-filter=A', 'HEAD', '--', c.path]);
  const other = added ? await revBlob(git, `${added}^:${c.original}`) : await revBlob(git, `HEAD:${c.original}`);
  if (!other) throw new UsageError(`${c.original} has no version to compare ${c.path} with`);
  const mb = await findMergeBase(git, c.original, c.path);
  const base = mb.commit ? ((await revBlob(git, `${mb.commit}:${c.original}`)) ?? (await emptyBlob(git))) : await emptyBlob(git);
  const otherBy = await introducedBy(git, c.original, other);
  const [dc, dother] = await Promise.all([diffBlobs(git, base, copyBlob), diffBlobs(git, base, other)]);
  const copySide: DiffSide = { label: `${c.device} (its version, kept as ${c.path})`, device: c.device, blob: copyBlob, diff: dc };
  const otherSide: DiffSide = {
    label: `${otherBy?.device ?? 'the other side'} (the version at ${c.original})`,
    device: otherBy?.device ?? null,
    blob: other,
    commit: otherBy?.commit ?? null,
    diff: dother,
  };
  return {
    json: {
      path: c.original,
      source: 'conflict-copy',
      copy: c.path,
      base: { commit: mb.commit, blob: mb.commit ? base : null, description: mb.description },
      local: { device: copySide.device, blob: copyBlob, diff: dc },
      remote: { device: otherSide.device, commit: otherSide.commit, blob: other, diff: dother },
    },
    path: c.original,
    header: [`${c.original}: open conflict, ${c.device}'s version kept as ${c.path} (${c.made_at})`, `base: ${mb.description}`],
    sides: [copySide, otherSide],
  };
}

/** Every blob the record names is an object id and still in the repository, or a UsageError says why not. */
export async function requireBlobs(git: Git, ids: Array<string | null>, m: AutoMergeEntry): Promise<void> {
  const wanted = ids.filter((x): x is string => !!x);
  // conflicts.log is a local file: an id in it reaches git only when it is an object id.
  if (!wanted.every((x) => OID.test(x)))
    throw new UsageError(`the auto-merge record of ${JSON.stringify(m.path)} (op ${m.op}) in conflicts.log is damaged (a blob id is not an object id)`);
  const r = await git.run(['cat-file', '--batch-check'], { readOnly: true, input: wanted.map((x) => `${x}\n`).join('') });
  if (/ missing$/m.test(r.stdout))
    throw new UsageError(`the auto-merge of ${JSON.stringify(m.path)} (op ${m.op}) is too old: its versions are no longer in this repository (backups pruned)`);
}
