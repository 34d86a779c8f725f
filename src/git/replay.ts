/**
 * Integrating the remote in the object store (DESIGN.md sections 4 and 5, invariants 13
 * to 15): the result is a commit built with `read-tree`/`write-tree`/`commit-tree` in
 * private indexes. Nothing here touches the work tree, the user's index, HEAD or a
 * branch; move.ts moves them once, afterwards.
 *
 * - Local commits that were never on the remote are replayed onto the remote tip one at
 *   a time (fork-point: the remote-tracking ref's reflog and the tip this sync saw before
 *   it fetched are "on the remote"), each as a three-way merge (tree-merge.ts). A commit
 *   whose change the remote already has becomes empty and is dropped, as a rebase would.
 * - Local history with merge commits is merged as a whole instead (a replay would
 *   flatten it): one merge commit with the local tip and the remote tip as parents.
 * - Another device's force push is followed, not undone: the commits it removed are kept
 *   in a backup ref and reported. A local rewrite of synced commits (amend, rebase -i)
 *   while the remote has not moved lands as one commit on top of the remote whose tree is
 *   the rewritten one: the user's amended text wins, with no conflict and no force push.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConflictRecord } from './conflict-log.js';
import { STATE_DIR_REL } from './workspace.js';
import type { SyncContext } from './sync-context.js';
import { saveBackup } from './backup.js';
import { commitTree } from './local-commit.js';
import { privateIndexPath, removeQuiet } from './index-file.js';
import { mergeTrees, type ContentMerge } from './tree-merge.js';
import { aheadBehind, EMPTY_TREE } from './rev.js';

export type IntegrationHow = 'none' | 'fast-forward' | 'replay' | 'merge' | 'follow-rewrite' | 'local-rewrite';

export interface Integration {
  /** The commit the branch should point at afterwards. */
  target: string;
  how: IntegrationHow;
  /** Remote commits were integrated (the work tree changes). */
  pulled: boolean;
  /** `target` has commits the remote lacks (a push is due). */
  ahead: boolean;
  records: ConflictRecord[];
  /** Another device rewrote the remote branch: what it removed is kept here. */
  rewrite: { old: string; new: string; backup: string } | null;
  /** Paths under the state directory that the remote tracks (removed from `target`). */
  untracked_state: string[];
}

export interface IntegrateInput {
  /** The local tip to integrate (the branch, or the sync's own unmoved commit). */
  local: string | null;
  remote: string;
  /** The remote-tracking ref before this sync's fetch (null: none). */
  previousRemote: string | null;
  branch: string;
  remoteName: string;
  remoteRef: string;
  chosenCopies: Set<string>;
  /** Sign the commits the integration writes (commit.gpgSign). */
  sign?: boolean;
  resolver?: ContentMerge;
  structured?: (path: string) => boolean;
}

export async function integrate(ctx: SyncContext, i: IntegrateInput): Promise<Integration> {
  const base: Integration = { target: i.local ?? i.remote, how: 'none', pulled: false, ahead: false, records: [], rewrite: null, untracked_state: [] };
  if (!i.local) return finish(ctx, i, { ...base, target: i.remote, how: 'fast-forward', pulled: true });
  if (i.local === i.remote) return base;
  const { git } = ctx;
  const counts = await aheadBehind(git, i.local, i.remote);
  if (counts.behind === 0) return { ...base, ahead: true };
  if (counts.ahead === 0) return finish(ctx, i, { ...base, target: i.remote, how: 'fast-forward', pulled: true });

  let rewrite: Integration['rewrite'] = null;
  if (i.previousRemote && i.previousRemote !== i.remote && !(await isAncestor(ctx, i.previousRemote, i.remote))) {
    const backup = await saveBackup(git, ctx.opId, 'a remote rewrite', i.previousRemote);
    rewrite = { old: i.previousRemote, new: i.remote, backup };
    ctx.logger.warn(
      { old: i.previousRemote, new: i.remote, backup },
      `the remote branch ${i.remoteName}/${i.branch} was rewritten by another device (force push); following it, the commits it removed are kept in ${backup}`,
    );
  }

  if (!rewrite && i.previousRemote === i.remote && (await localBranchHadRemoteTip(ctx, i.branch, i.remote))) {
    // The user rewrote commits that were already synced (amend, rebase -i), and the remote
    // has not moved since: their rewritten tree is what they want, on top of the remote.
    const [meta] = await commitsMeta(ctx, [i.local], []);
    const message = `${(meta?.body ?? 'sync: rewritten local history').trimEnd()}\n\nSync-Rewrite: replaces ${i.remote}\nSync-Op: ${ctx.opId}\n`;
    const target = await commitTree(git, `${i.local}^{tree}`, [i.remote], message, meta ? authorEnv(meta) : {}, i.sign);
    ctx.logger.info({ local: i.local, remote: i.remote }, 'local history was rewritten after it was synced; its tree lands on top of the remote');
    return finish(ctx, i, { ...base, target, how: 'local-rewrite', pulled: true, ahead: true });
  }

  const exclude = [i.remote, ...(i.previousRemote ? [i.previousRemote] : []), ...(await remoteReflogTips(ctx, i.remoteRef))];
  const commits = await commitsMeta(ctx, [i.local], exclude);
  if (commits.length === 0) {
    // Every local commit was on the remote at some point: the remote dropped them (force
    // push) and this device has nothing new. Follow the remote.
    return finish(ctx, i, { ...base, target: i.remote, how: 'follow-rewrite', pulled: true, rewrite });
  }
  const backupRef = await saveBackup(git, ctx.opId, 'integrating the remote', i.local);
  ctx.logger.debug({ backup: backupRef, commits: commits.length }, 'integrating in the object store');
  await ctx.step('resolve');
  const remoteTime = await commitTime(ctx, i.remote);
  const indexFile = privateIndexPath(ctx.ws.gitDir, ctx.opId, 'merge');
  const records: ConflictRecord[] = [];
  const mergeOpts = (localTime: number, remoteTimeNow: number) => ({
    git,
    gitDir: ctx.ws.gitDir,
    root: ctx.ws.root,
    opId: ctx.opId,
    config: ctx.config,
    device: ctx.device,
    now: new Date((ctx.clock ?? Date.now)()),
    localTime,
    remoteTime: remoteTimeNow,
    chosen: i.chosenCopies,
    indexFile,
    ...(i.resolver ? { resolver: i.resolver } : {}),
    ...(i.structured ? { structured: i.structured } : {}),
  });
  try {
    if (commits.some((c) => c.parents.length > 1)) {
      const mergeBase = (await git.run(['merge-base', i.local, i.remote], { readOnly: true })).stdout.trim().split('\n')[0]!;
      const localTime = commits[commits.length - 1]!.time;
      const merged = await mergeTrees(mergeBase, i.remote, i.local, mergeOpts(localTime, remoteTime));
      records.push(...merged.records);
      const message = `sync(${ctx.type}): merge ${i.remoteName}/${i.branch} on ${ctx.device}\n\nSync-Op: ${ctx.opId}\n`;
      const target = await commitTree(git, merged.tree, [i.local, i.remote], message, {}, i.sign);
      return finish(ctx, i, { ...base, target, how: 'merge', pulled: true, ahead: true, records, rewrite });
    }
    let cur = i.remote;
    let curTime = remoteTime;
    let curTree = await treeOf(ctx, i.remote);
    for (const c of commits) {
      const merged = await mergeTrees(c.parents[0] ?? EMPTY_TREE, curTree, c.id, mergeOpts(c.time, curTime));
      records.push(...merged.records);
      if (merged.tree === curTree) continue; // the remote already has this change
      cur = await commitTree(git, merged.tree, [cur], c.body, authorEnv(c), i.sign);
      curTree = merged.tree;
      curTime = c.time;
    }
    return finish(ctx, i, { ...base, target: cur, how: 'replay', pulled: true, ahead: cur !== i.remote, records, rewrite });
  } finally {
    await removeQuiet(indexFile, `${indexFile}.lock`);
  }
}

/**
 * Invariant 14: a remote tree that tracks paths under the state directory never changes
 * this device's state files. Those paths are taken out of the synced tree (so they are
 * never checked out here) and the removal is pushed, which cleans the repository.
 */
async function finish(ctx: SyncContext, i: IntegrateInput, r: Integration): Promise<Integration> {
  const listed = await ctx.git.run(['ls-tree', '-r', '-z', '--name-only', r.target, '--', STATE_DIR_REL], { readOnly: true, literalPaths: true });
  const tracked = listed.stdout.split('\0').filter(Boolean);
  if (tracked.length === 0) return r;
  const indexFile = privateIndexPath(ctx.ws.gitDir, ctx.opId, 'untrack');
  const env = { GIT_INDEX_FILE: indexFile };
  try {
    await removeQuiet(indexFile);
    await ctx.git.run(['read-tree', r.target], { env });
    await ctx.git.run(['update-index', '-z', '--force-remove', '--stdin'], { env, input: tracked.map((p) => `${p}\0`).join('') });
    const tree = (await ctx.git.run(['write-tree'], { env })).stdout.trim();
    const shown = tracked.slice(0, 5).join(', ') + (tracked.length > 5 ? ', ...' : '');
    const message = `sync(${ctx.type}): stop tracking sync-coordinator state files on ${ctx.device}\n\nThe remote tracked ${tracked.length} path(s) under ${STATE_DIR_REL}/ (${shown}).\nThey are each device's own state and are never checked out; this commit removes them\nfrom the repository.\n\nSync-Op: ${ctx.opId}\n`;
    const target = await commitTree(ctx.git, tree, [r.target], message, {}, i.sign);
    ctx.logger.warn(
      { paths: tracked.slice(0, 20), count: tracked.length },
      `the remote tracks ${tracked.length} path(s) under ${STATE_DIR_REL}/; they were not checked out, and the sync removes them from the repository (this device's own state files are unchanged)`,
    );
    return { ...r, target, ahead: true, untracked_state: tracked };
  } finally {
    await removeQuiet(indexFile, `${indexFile}.lock`);
  }
}

async function isAncestor(ctx: SyncContext, a: string, b: string): Promise<boolean> {
  const res = await ctx.git.run(['merge-base', '--is-ancestor', a, b], { readOnly: true, okCodes: [1, 128] });
  return res.code === 0;
}

async function treeOf(ctx: SyncContext, commit: string): Promise<string> {
  return (await ctx.git.run(['rev-parse', `${commit}^{tree}`], { readOnly: true })).stdout.trim();
}

async function commitTime(ctx: SyncContext, commit: string): Promise<number> {
  const out = (await ctx.git.run(['show', '-s', '--format=%ct', commit], { readOnly: true })).stdout.trim();
  return Number(out) * 1000;
}

/** New oids of a ref's reflog (the last 100 entries), read from git's log file. */
async function reflogTips(ctx: SyncContext, ref: string): Promise<string[]> {
  try {
    const text = await readFile(join(ctx.ws.commonDir, 'logs', ref), 'utf8');
    return [
      ...new Set(
        text
          .split('\n')
          .filter(Boolean)
          .slice(-100)
          .map((l) => l.split(' ')[1] ?? '')
          .filter((x) => /^[0-9a-f]{40,64}$/.test(x)),
      ),
    ];
  } catch {
    return [];
  }
}

function remoteReflogTips(ctx: SyncContext, remoteRef: string): Promise<string[]> {
  return reflogTips(ctx, remoteRef);
}

async function localBranchHadRemoteTip(ctx: SyncContext, branch: string, remote: string): Promise<boolean> {
  return (await reflogTips(ctx, `refs/heads/${branch}`)).includes(remote);
}

interface CommitMeta {
  id: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  authorDate: string;
  time: number;
  body: string;
}

/** Commits reachable from `tips` and not from `exclude`, oldest first, with what a replay keeps. */
async function commitsMeta(ctx: SyncContext, tips: string[], exclude: string[]): Promise<CommitMeta[]> {
  const args = [
    'log',
    '--reverse',
    '--topo-order',
    '-z',
    '--format=%H%x1f%P%x1f%an%x1f%ae%x1f%ad%x1f%ct%x1f%B',
    '--date=raw',
    ...(exclude.length ? [] : ['--no-walk']),
    '--ignore-missing',
    ...tips,
  ];
  if (exclude.length) args.push('--not', ...exclude);
  const out = (await ctx.git.run(args, { readOnly: true })).stdout;
  return out
    .split('\0')
    .filter((r) => r.trim())
    .map((rec) => {
      const f = rec.replace(/^\n/, '').split('\x1f');
      return {
        id: f[0] ?? '',
        parents: (f[1] ?? '').split(' ').filter(Boolean),
        authorName: f[2] ?? '',
        authorEmail: f[3] ?? '',
        authorDate: f[4] ?? '',
        time: Number(f[5] ?? 0) * 1000,
        body: f.slice(6).join('\x1f'),
      };
    });
}

function authorEnv(c: CommitMeta): Record<string, string> {
  return { GIT_AUTHOR_NAME: c.authorName, GIT_AUTHOR_EMAIL: c.authorEmail, GIT_AUTHOR_DATE: c.authorDate };
}
