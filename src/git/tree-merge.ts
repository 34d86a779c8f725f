/**
 * A three-way merge of trees in a private index, with the conflict policy of DESIGN.md
 * section 5 applied to blobs: `read-tree -m` does the trivial merges, `git merge-file`
 * the line merges (in a private directory, never in the work tree), the resolver
 * (section 13) what git leaves conflicted, and the policy the rest. A conflict copy is
 * a blob added to the tree; conflict markers never enter a file, an index or a commit.
 *
 * Sides: `remote` is the tree being built on (stage 2), `local` the change being
 * replayed or merged in (stage 3).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import picomatch from 'picomatch';
import type { ConflictRecord } from './conflict-log.js';
import { ConflictError, SyncFailedError } from '../shared/errors.js';
import type { Config } from '../shared/config.js';
import { conflictStamp, pickConflictCopyPath } from './conflict-copy.js';
import type { Git } from './git.js';
import { readBlobs, writeBlob } from './blobs.js';
import { privateDir, removeQuiet } from './index-file.js';
import { looksBinary } from '../merge/content-kind.js';
import type { MergeInput } from '../merge/types.js';
import { markerLines } from './markers.js';
import { existsNoFollow } from '../shared/exists-no-follow.js';

export interface StageEntry {
  mode: string;
  sha: string;
}

export interface UnmergedPath {
  path: string;
  base?: StageEntry;
  remote?: StageEntry;
  local?: StageEntry;
}

/** Parse `git ls-files -u -z` (pure); stage 2 is the remote side, stage 3 the local one. */
export function parseUnmerged(out: string): UnmergedPath[] {
  const byPath = new Map<string, UnmergedPath>();
  for (const rec of out.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    const [mode = '', sha = '', stage = ''] = rec.slice(0, tab).split(' ');
    const path = rec.slice(tab + 1);
    const u = byPath.get(path) ?? { path };
    const entry = { mode, sha };
    if (stage === '1') u.base = entry;
    else if (stage === '2') u.remote = entry;
    else if (stage === '3') u.local = entry;
    byPath.set(path, u);
  }
  return [...byPath.values()];
}

export function systemMatcher(globs: string[]): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  return picomatch(globs, { dot: true });
}

/** What a text merge beyond git's line merge may do (the resolver of section 13). */
export type ContentMerge = (
  input: Omit<MergeInput, 'strategy'>,
) => Promise<{ merged: Buffer | null; partial: Buffer | null; strategy: string; hunks: number; notes?: string[]; skipped?: string }>;

export interface TreeMergeOptions {
  git: Git;
  gitDir: string;
  opId: string;
  config: Config;
  device: string;
  now: Date;
  /** Commit times of the two sides (ms), for the resolver's ordering rules. */
  localTime: number;
  remoteTime: number;
  /** Conflict-copy names chosen in this sync so far (a name is used once). */
  chosen: Set<string>;
  /** The work tree's root: a copy name must not be a file there either (an untracked one). */
  root: string;
  resolver?: ContentMerge;
  /** Paths whose strategy is structured (json): the resolver decides even where git would merge. */
  structured?: (path: string) => boolean;
  /** Index file to merge in (private). */
  indexFile: string;
}

export interface TreeMergeResult {
  tree: string;
  records: ConflictRecord[];
}

const ZERO = '0'.repeat(40);
const GITLINK = '160000';
const REGULAR = new Set(['100644', '100755']);

/** Thrown when `user_conflict_policy` is `manual` and a user file stays in conflict. */
export class LeaveForUser extends ConflictError {
  constructor(readonly conflicts: Array<{ path: string; kind: ConflictRecord['kind'] }>) {
    const paths = conflicts.map((c) => c.path);
    super(`conflict in ${paths.length} file(s) (${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', ...' : ''})`, paths);
  }
}

/** Merge `local` into `remote` over `base` (tree-ishes); returns the merged tree. */
export async function mergeTrees(base: string, remote: string, local: string, o: TreeMergeOptions): Promise<TreeMergeResult> {
  const env = { GIT_INDEX_FILE: o.indexFile };
  await removeQuiet(o.indexFile, `${o.indexFile}.lock`);
  await o.git.run(['read-tree', '-m', '-i', '--aggressive', base, remote, local], { env });
  const unmerged = parseUnmerged((await o.git.run(['ls-files', '-u', '-z'], { env, readOnly: true })).stdout);
  const records: ConflictRecord[] = [];
  if (unmerged.length > 0) {
    const inTree = new Set((await o.git.run(['ls-files', '-z'], { env, readOnly: true })).stdout.split('\0').filter(Boolean));
    const taken = (p: string) => inTree.has(p) || o.chosen.has(p) || existsNoFollow(join(o.root, p));
    const resolution = await resolvePaths(unmerged, o, taken, records);
    await o.git.run(['update-index', '-z', '--index-info'], { env, input: resolution });
  }
  const res = await o.git.run(['write-tree'], { env, okCodes: [128] });
  if (res.code !== 0)
    throw new SyncFailedError(`could not build the merged tree: ${res.stderr.trim().split('\n').slice(-2).join(' | ')}`, { code: 'EINTEGRATE' });
  return { tree: res.stdout.trim(), records };
}

async function resolvePaths(unmerged: UnmergedPath[], o: TreeMergeOptions, taken: (p: string) => boolean, records: ConflictRecord[]): Promise<string> {
  const isSystem = systemMatcher(o.config.system_files);
  const stamp = conflictStamp(o.now);
  const time = o.now.toISOString();
  const lines: string[] = [];
  const stage = (path: string, e: StageEntry | null) => {
    lines.push(`0 ${ZERO}\t${path}`);
    if (e) lines.push(`${e.mode} ${e.sha}\t${path}`);
  };
  // File/directory collisions: a path one side has as a file and the other as a directory.
  const dirs = new Set<string>();
  for (const u of unmerged) for (let i = u.path.indexOf('/'); i > 0; i = u.path.indexOf('/', i + 1)) dirs.add(u.path.slice(0, i));
  const manual: Array<{ path: string; kind: ConflictRecord['kind'] }> = [];
  const copyOf = (path: string, e: StageEntry, kind: ConflictRecord['kind']) => {
    const copy = pickConflictCopyPath(path, stamp, o.device, taken);
    o.chosen.add(copy);
    stage(copy, e);
    records.push({ time, op: o.opId, path, kind, device: o.device, policy: 'conflict-copy', outcome: 'copy-created', copy_path: copy });
  };

  for (const u of unmerged) {
    const { base, remote, local } = u;
    if ([base, local, remote].some((e) => e?.mode === GITLINK)) {
      throw new SyncFailedError(`cannot resolve a submodule conflict at ${u.path} automatically; update the submodule by hand and sync again`, {
        code: 'ESUBMODULE',
      });
    }
    const rec = { time, op: o.opId, path: u.path, device: o.device } as const;
    if (dirs.has(u.path)) {
      // A file here collides with the other side's directory of the same name.
      const kind: ConflictRecord['kind'] = 'file-directory';
      if (local && !remote) {
        if (o.config.user_conflict_policy === 'manual' && !isSystem(u.path)) manual.push({ path: u.path, kind });
        stage(u.path, null);
        copyOf(u.path, local, kind);
      } else {
        // The remote's file stays out of the way of the local directory as a copy too:
        // nothing of either side is dropped, and the local side stays where the user has it.
        stage(u.path, null);
        if (remote) copyOf(u.path, remote, kind);
        if (local) copyOf(u.path, local, kind);
      }
      continue;
    }
    if (isSystem(u.path)) {
      stage(u.path, local ?? null);
      records.push({ ...rec, kind: local && remote ? 'content' : 'delete-modify', policy: 'system-ours', outcome: 'resolved-ours', copy_path: null });
      continue;
    }
    if (!local || !remote) {
      // delete/modify: the side that still has content is the edit; keep it at the path.
      const kept = local ?? remote ?? null;
      if (kept && base && o.config.user_conflict_policy === 'manual') {
        manual.push({ path: u.path, kind: 'delete-modify' });
        continue;
      }
      stage(u.path, kept);
      if (kept && base) records.push({ ...rec, kind: 'delete-modify', policy: 'conflict-copy', outcome: 'kept-modified', copy_path: null });
      continue;
    }
    if (local.sha === remote.sha) {
      stage(u.path, REGULAR.has(local.mode) && base?.mode === remote.mode ? local : remote);
      continue;
    }
    const merged = await mergeContent(u, local, remote, o);
    if (merged.blob) {
      stage(u.path, { mode: base?.mode === remote.mode ? local.mode : remote.mode, sha: merged.blob });
      if (merged.by !== 'git') {
        // The three inputs and the result by blob id: `conflicts show/undo` read them exactly.
        records.push({
          ...rec,
          kind: 'content',
          policy: 'auto-merge',
          outcome: 'auto-merged',
          copy_path: null,
          strategy: merged.by,
          hunks: merged.hunks,
          base_blob: base?.sha ?? null,
          local_blob: local.sha,
          remote_blob: remote.sha,
          merged_blob: merged.blob,
          ...(merged.notes ? { notes: merged.notes.slice(0, 20) } : {}),
        });
      }
      continue;
    }
    const kind: ConflictRecord['kind'] = merged.binary ? 'binary' : base ? 'content' : 'add-add';
    if (o.config.user_conflict_policy === 'manual') {
      manual.push({ path: u.path, kind });
      continue;
    }
    stage(u.path, merged.partial ? { mode: remote.mode, sha: merged.partial } : remote);
    copyOf(u.path, local, kind);
  }
  if (manual.length > 0) throw new LeaveForUser(manual);
  return lines.map((l) => `${l}\0`).join('');
}

interface Merged {
  blob: string | null;
  partial: string | null;
  by: string;
  hunks: number;
  binary: boolean;
  /** text-newest: the other side's hunks it did not take (kept in the log, and in history). */
  notes?: string[];
}

/** git's line merge, then the resolver; a merged text never carries a new marker line. */
async function mergeContent(u: UnmergedPath, local: StageEntry, remote: StageEntry, o: TreeMergeOptions): Promise<Merged> {
  const none: Merged = { blob: null, partial: null, by: 'none', hunks: 0, binary: false };
  if (!REGULAR.has(local.mode) || !REGULAR.has(remote.mode) || (u.base && !REGULAR.has(u.base.mode))) return none;
  const [baseBytes, localBytes, remoteBytes] = await readBlobs(o.git, [u.base?.sha ?? null, local.sha, remote.sha]);
  if (!localBytes || !remoteBytes) return none;
  if ([baseBytes, localBytes, remoteBytes].some((b) => b && looksBinary(b))) return { ...none, binary: true };
  const inputs = [baseBytes, localBytes, remoteBytes].filter((b): b is Buffer => !!b);
  const allowed = new Set(inputs.flatMap((b) => markerLines(b.toString('utf8'))));
  const safe = (text: Buffer) => markerLines(text.toString('utf8')).every((l) => allowed.has(l));
  // A structured strategy sees every file both sides changed, even one git's line merge
  // would merge: a line merge can silently yield duplicate keys or invalid JSON.
  const structured = o.structured?.(u.path) ?? false;
  if (u.base && baseBytes && !structured) {
    const git = await gitMergeFile(o, baseBytes, localBytes, remoteBytes);
    if (git && safe(git)) return { ...none, blob: await writeBlob(o.git, git), by: 'git' };
  }
  if (!o.resolver) return none;
  const r = await o.resolver({
    path: u.path,
    base: baseBytes ?? null,
    local: localBytes,
    remote: remoteBytes,
    localTime: o.localTime,
    remoteTime: o.remoteTime,
  });
  if (r.merged && safe(r.merged))
    return { ...none, blob: await writeBlob(o.git, r.merged), by: r.strategy, hunks: r.hunks, ...(r.notes?.length ? { notes: r.notes } : {}) };
  const partial = r.partial && safe(r.partial) && !r.partial.equals(remoteBytes) ? await writeBlob(o.git, r.partial) : null;
  return { ...none, partial };
}

/** `git merge-file -p` on private copies; null when it leaves a conflict. */
async function gitMergeFile(o: TreeMergeOptions, base: Buffer, local: Buffer, remote: Buffer): Promise<Buffer | null> {
  const dir = join(privateDir(o.gitDir), `merge-${o.opId}`);
  await fs.mkdir(dir, { recursive: true });
  const files = ['local', 'base', 'remote'].map((n) => join(dir, n));
  await Promise.all([fs.writeFile(files[0]!, local), fs.writeFile(files[1]!, base), fs.writeFile(files[2]!, remote)]);
  try {
    const res = await o.git.run(['merge-file', '-p', '-q', ...files], { okCodes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 127] });
    return res.code === 0 ? res.stdoutBytes : null;
  } finally {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}
