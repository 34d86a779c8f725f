/**
 * The commit step: the work tree's changes become a commit built from a private index
 * (index-file.ts), without touching the user's index, HEAD or any branch. The branch moves
 * later, once, in move.ts. So a failing pre-commit or commit-msg hook, or signing without
 * a key, leaves the user's index exactly as it was (invariant 4), and a branch switch or
 * a commit by the user meanwhile cannot be overwritten (invariant 13).
 *
 * The user's own pre-commit and commit-msg hooks run (through `git hook run`, so
 * `core.hooksPath` and husky apply) against the private index, as `git commit` would run
 * them. A hook or signing failure is permanent: retrying at once would fail the same way.
 */
import { existsSync, promises as fs } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { SyncFailedError } from '../shared/errors.js';
import { stripControl } from '../shared/sanitize.js';
import { commitMessage } from './commit-message.js';
import type { Git } from './git.js';
import { GitError } from './git-error.js';
import { privateDir, privateIndexPath, removeQuiet, writePrivateIndex, type IndexSnapshot } from './index-file.js';
import { COMMIT_CONFIG, EMPTY_TREE } from './rev.js';
import type { ChangeSummary, StatusEntry } from './status.js';
import type { SyncType } from '../shared/config.js';

export interface LocalCommit {
  commit: string;
  tree: string;
  /** Paths whose committed content differs from the parent (what the user's index must take). */
  paths: string[];
  summary: ChangeSummary;
  /** The private index the commit was made from (its entries carry fresh stat data). */
  indexFile: string;
}

export interface CommitInput {
  git: Git;
  root: string;
  gitDir: string;
  commonDir: string;
  opId: string;
  type: SyncType;
  device: string;
  /** The branch tip the commit goes on top of (null: unborn branch). */
  parent: string | null;
  /** The status entries to commit (already filtered by the staging rules). */
  entries: StatusEntry[];
  /** Paths the user staged that must not be committed (excluded): reset to the parent. */
  unstage: string[];
  hooksPath: string | null;
  sign: boolean;
  /** The user's index as read for this sync (its digest is checked again before any move). */
  userIndex: IndexSnapshot;
  attempt: number;
}

/** Returns null when the work tree has nothing to commit. */
export async function buildLocalCommit(c: CommitInput): Promise<LocalCommit | null> {
  if (c.entries.length === 0) return null;
  const indexFile = privateIndexPath(c.gitDir, c.opId, `commit-${c.attempt}`);
  const env = { GIT_INDEX_FILE: indexFile };
  await writePrivateIndex(indexFile, c.userIndex);
  // Only what differs between the user's index and the work tree needs adding: a change
  // the user staged is already in the private index (it is a copy), and naming a staged
  // deletion or a rename's old path again would make `git add` fail ("did not match").
  const paths = new Set<string>();
  for (const e of c.entries) if (e.y !== ' ') paths.add(e.path);
  const parentTree = c.parent ? `${c.parent}^{tree}` : EMPTY_TREE;
  if (paths.size > 0)
    await c.git.run(['add', '-A', '--pathspec-from-file=-', '--pathspec-file-nul'], {
      env,
      literalPaths: true,
      input: [...paths].map((p) => `${p}\0`).join(''),
    });
  if (c.unstage.length > 0) {
    if (c.parent)
      await c.git.run(['reset', '-q', c.parent, '--pathspec-from-file=-', '--pathspec-file-nul'], {
        env,
        literalPaths: true,
        input: c.unstage.map((p) => `${p}\0`).join(''),
      });
    else
      await c.git.run(['rm', '-q', '--cached', '--ignore-unmatch', '--pathspec-from-file=-', '--pathspec-file-nul'], {
        env,
        literalPaths: true,
        input: c.unstage.map((p) => `${p}\0`).join(''),
      });
  }
  const preCommit = hookFile(c, 'pre-commit');
  if (preCommit) await runHook(c, 'pre-commit', [], env);
  // After the hook: a pre-commit hook may stage more (formatters), as with `git commit`.
  // Both only read the private index: side by side, one git round instead of two.
  const [diff, written] = await Promise.all([
    c.git.run(['diff-index', '--cached', '--no-renames', '-z', '--name-status', parentTree], { env, readOnly: true }),
    c.git.run(['write-tree'], { env }),
  ]);
  const changed = parseNameStatusZ(diff.stdout);
  if (changed.length === 0) {
    await removeQuiet(indexFile);
    return null;
  }
  const tree = written.stdout.trim();
  let message = commitMessage(c.type, summaryOf(changed), c.device, c.opId);
  if (hookFile(c, 'commit-msg')) {
    const msgFile = join(privateDir(c.gitDir), `msg-${c.opId}`);
    await fs.writeFile(msgFile, message);
    try {
      await runHook(c, 'commit-msg', [msgFile], env);
      message = await fs.readFile(msgFile, 'utf8');
    } finally {
      await removeQuiet(msgFile);
    }
  }
  const commit = await commitTree(c.git, tree, c.parent ? [c.parent] : [], message, env, c.sign);
  return { commit, tree, paths: changed.map((x) => x.path), summary: summaryOf(changed), indexFile };
}

/** `git commit-tree`, signed (`-S`) when the user signs commits; a signing failure is permanent. */
export async function commitTree(git: Git, tree: string, parents: string[], message: string, env: Record<string, string> = {}, sign = false): Promise<string> {
  const args = ['commit-tree', ...(sign ? ['-S'] : []), tree];
  for (const p of parents) args.push('-p', p);
  args.push('-F', '-');
  try {
    return (await git.run(args, { input: message, config: COMMIT_CONFIG, env })).stdout.trim();
  } catch (e) {
    if (e instanceof GitError && e.kind === 'exit' && /gpg|sign|ssh-keygen|x509/i.test(e.stderr)) {
      throw new SyncFailedError(
        `signing the commit failed (commit.gpgSign is set): ${said(e.stderr)}; fix the signing key or set commit.gpgSign false for this repository; the sync changed nothing (your index is as it was)`,
        { code: 'ESIGN', retryable: false, cause: e },
      );
    }
    throw e;
  }
}

function hookFile(c: CommitInput, name: string): string | null {
  const dir = c.hooksPath ? (isAbsolute(c.hooksPath) ? c.hooksPath : join(c.root, c.hooksPath)) : join(c.commonDir, 'hooks');
  const file = join(dir, name);
  return existsSync(file) ? file : null;
}

async function runHook(c: CommitInput, name: string, args: string[], env: Record<string, string>): Promise<void> {
  try {
    await c.git.run(['hook', 'run', '--ignore-missing', name, ...(args.length ? ['--', ...args] : [])], { env, timeoutMs: 300_000 });
  } catch (e) {
    if (e instanceof GitError && e.kind === 'exit') {
      throw new SyncFailedError(
        `your ${name} hook refused the sync's commit (exit ${e.exitCode}): ${said(e.stderr || e.stdout)}; fix what it reports (or the hook) and sync again; the sync changed nothing (your index is as it was)`,
        { code: 'EHOOK', retryable: false, cause: e },
      );
    }
    throw e;
  }
}

/** A hook's or gpg's own words, sanitized and bounded, for a one-paragraph message. */
function said(text: string): string {
  const lines = stripControl(text.replace(/\r/g, ''))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const joined = lines.slice(-8).join(' | ');
  return joined.length > 600 ? `${joined.slice(0, 600)}...` : joined || '(no output)';
}

export interface NameStatus {
  status: string;
  path: string;
}

/** `diff-index -z --name-status` output (pure). */
export function parseNameStatusZ(out: string): NameStatus[] {
  const parts = out.split('\0');
  const found: NameStatus[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const status = parts[i];
    const path = parts[i + 1];
    if (status && path !== undefined) found.push({ status: status[0] ?? 'M', path });
  }
  return found;
}

function summaryOf(changed: NameStatus[]): ChangeSummary {
  const s: ChangeSummary = { added: [], modified: [], deleted: [], renamed: [] };
  for (const c of changed) {
    if (c.status === 'A') s.added.push(c.path);
    else if (c.status === 'D') s.deleted.push(c.path);
    else s.modified.push(c.path);
  }
  return s;
}
