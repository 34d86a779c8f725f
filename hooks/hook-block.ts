/**
 * The marked block that `hooks install` adds to a hook file, and the pure text edits
 * around it. Adding then removing a block gives back the original bytes: the block goes
 * right after a shebang line (or at the top), before the user's code, because that code
 * may end with `exit`.
 *
 * The block runs only code inside the git directory (invariant 14): a checkout can write
 * any path of the work tree, ignored ones included, but never one under `.git`. It finds
 * the common git dir from what git gives every hook (the work tree root as cwd, and
 * GIT_DIR when `.git` is a file, as in a linked worktree) with shell builtins only: no
 * process, no absolute path. So the block is the same on every machine, a tracked hook
 * file (`.husky/post-merge`) does not flip between devices that each run `hooks
 * install`, and it does nothing on a clone where sync-coordinator is not installed.
 */
export type HookName = 'post-merge' | 'pre-push';
export const HOOK_NAMES: readonly HookName[] = ['post-merge', 'pre-push'];

export const BLOCK_BEGIN = '# >>> sync-coordinator >>>';
export const BLOCK_END = '# <<< sync-coordinator <<<';
/** Suffix of the begin line when the installer created the file: uninstall may delete it. */
const CREATED_TAG = ' (file created by sync-coordinator)';
/** What the installer writes before the block in a hook file it creates (not for husky). */
export const CREATED_HEADER = '#!/bin/sh\n';

/** Where installed copies of the scripts (and `runtime`) live, relative to the common git dir. */
export const SCRIPT_DIR_IN_GIT = 'sync-coordinator/hooks';

/**
 * Where versions before 0.2 put the copies: in the state directory, which a remote tree
 * that tracks it (added with `git add -f`) overwrites on the user's own `git pull`.
 * A block that names it is the old, unsafe kind (`hooks status` says so).
 */
export const LEGACY_SCRIPT_DIR_REL = '.claude/sync-coordination/hooks';

const PURPOSE: Record<HookName, string> = {
  'post-merge': 'queue a sync after a merge',
  'pre-push': 'wait (bounded) for a sync in flight',
};

/**
 * The block's lines. `[ -f ] && sh ... || true` never fails the hook, not even under
 * `sh -e`, never exits it, and runs our script as its own process with stdin closed, so
 * a pre-push hook's own lines still read git's ref list.
 */
export function blockText(hook: HookName, created = false): string {
  const script = `"$sc_d/${SCRIPT_DIR_IN_GIT}/${hook}.sh"`;
  // `commondir` exists only in a linked worktree's git dir and names the common dir,
  // usually relatively (`../..`). Variable names are prefixed and unset: the block runs
  // inside the user's own hook script, before their code.
  return [
    BLOCK_BEGIN + (created ? CREATED_TAG : ''),
    `# sync-coordinator: ${PURPOSE[hook]}; \`sync-coordinator hooks uninstall\` removes this block.`,
    `sc_d=\${GIT_DIR:-.git}; [ -f "$sc_d/commondir" ] && read -r sc_c <"$sc_d/commondir" && case $sc_c in /*) sc_d=$sc_c ;; *) sc_d=$sc_d/$sc_c ;; esac`,
    `[ -f ${script} ] && sh ${script} </dev/null || true`,
    'unset sc_d sc_c',
    BLOCK_END,
    '',
  ].join('\n');
}

/** Does this block (its text between the markers) run a script from the state directory? */
export function isLegacyBlockText(text: string): boolean {
  return text.includes(`sh ${LEGACY_SCRIPT_DIR_REL}/`);
}

export interface BlockRange {
  /** Offset of the begin line. */
  start: number;
  /** Offset just after the end line (before its newline, if any). */
  end: number;
  created: boolean;
}

/** Complete blocks in order; `malformed` when a marker has no partner (edited by hand). */
export function findBlocks(text: string): { blocks: BlockRange[]; malformed: boolean } {
  const blocks: BlockRange[] = [];
  let open: { start: number; created: boolean } | null = null;
  let malformed = false;
  let offset = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(BLOCK_BEGIN)) {
      if (open) malformed = true;
      open = { start: offset, created: line.slice(BLOCK_BEGIN.length) === CREATED_TAG };
    } else if (line === BLOCK_END) {
      if (open) blocks.push({ start: open.start, end: offset + line.length, created: open.created });
      else malformed = true;
      open = null;
    }
    offset += line.length + 1;
  }
  if (open) malformed = true;
  return { blocks, malformed };
}

export function hasBlock(text: string): boolean {
  return findBlocks(text).blocks.length > 0;
}

/**
 * Removes every complete block, exactly as `insertBlock` added it. `created` tells
 * whether any block said the installer created the file.
 */
export function removeBlocks(text: string): { text: string; found: boolean; created: boolean } {
  const { blocks } = findBlocks(text);
  let out = text;
  for (const b of [...blocks].reverse()) {
    let start = b.start;
    let end = b.end;
    if (out[end] === '\n') end += 1;
    else if (start > 0 && out[start - 1] === '\n') start -= 1; // at EOF: the newline we added before it
    out = out.slice(0, start) + out.slice(end);
  }
  return { text: out, found: blocks.length > 0, created: blocks.some((b) => b.created) };
}

/** Inserts `block` (ending in a newline) after the shebang line, or at the top. */
export function insertBlock(text: string, block: string): string {
  if (!text.startsWith('#!')) return block + text;
  const nl = text.indexOf('\n');
  // A file that is only a shebang without a newline: the block goes after a newline of
  // ours and loses its own final one, so removeBlocks can take exactly that back.
  if (nl < 0) return `${text}\n${block.replace(/\n$/, '')}`;
  return text.slice(0, nl + 1) + block + text.slice(nl + 1);
}

const SH_LIKE = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'busybox']);

/**
 * The interpreter named by a shebang, or null when there is none (git then runs the
 * file with sh, and husky always runs `.husky/<hook>` with `sh -e`).
 */
export function shebangInterpreter(text: string): string | null {
  if (!text.startsWith('#!')) return null;
  const words = text
    .slice(2, text.indexOf('\n') < 0 ? undefined : text.indexOf('\n'))
    .trim()
    .split(/\s+/);
  let prog = words[0] ?? '';
  if (prog.endsWith('/env') || prog === 'env') prog = words.slice(1).find((w) => !w.startsWith('-')) ?? '';
  return prog.slice(prog.lastIndexOf('/') + 1);
}

/** Can our sh line go into this hook file? */
export function acceptsShellLines(text: string): boolean {
  const interp = shebangInterpreter(text);
  return interp === null || SH_LIKE.has(interp);
}
