/**
 * `hooks install|uninstall|status` (DESIGN.md sections 3 and 7): puts the post-merge and
 * pre-push lines into the hooks directory git actually runs, beside the user's own code.
 *
 * Where: `core.hooksPath` first, since git ignores
 * `.git/hooks` once it is set. Husky 9 sets it to `.husky/_`, which every `husky` run
 * regenerates, so we write `.husky/<hook>` (run by husky's `h` with `sh -e`). A
 * `core.hooksPath` outside the work tree (a shared or global directory) is never written:
 * the user gets the lines to add. Otherwise `git rev-parse --git-path hooks`.
 *
 * What: a marked block (hook-block.ts) that runs a copy of hooks/<hook>.sh from
 * `<git common dir>/sync-coordinator/hooks/`; the node/bin paths (`runtime`) are written
 * there too, so the block itself holds no machine-specific path. Never from the state
 * directory: it is in the work tree, and a remote tree that tracks it (`git add -f`)
 * overwrites it on the user's own `git pull` (invariant 14). Installations made that
 * way are reported as unsafe and rewritten by the next install.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { UsageError } from '../src/shared/errors.js';
import { ensureStateDir, statePaths } from '../src/git/workspace.js';
import { fsyncDir, tempPathFor, writeFileAtomic } from '../src/shared/atomic-file.js';
import { createGit } from '../src/git/git.js';
import { packagedHookScript } from '../src/shared/package-root.js';
/** What the hooks command checks before it writes (the entry module of hooks/ hands them on). */
export { acceptsShellLines, HOOK_NAMES, shebangInterpreter } from './hook-block.js';
import {
  acceptsShellLines,
  blockText,
  CREATED_HEADER,
  findBlocks,
  HOOK_NAMES,
  insertBlock,
  removeBlocks,
  isLegacyBlockText,
  LEGACY_SCRIPT_DIR_REL,
  SCRIPT_DIR_IN_GIT,
  shebangInterpreter,
  type HookName,
} from './hook-block.js';

export type { HookName } from './hook-block.js';

export interface HooksStatus {
  dir: string;
  hooks: Record<HookName, boolean>;
  /**
   * Hooks whose block is the old, unsafe kind (runs a script from the state directory,
   * which a checkout can write); only present when there is one. They count as not
   * installed: `hooks install` rewrites them.
   */
  unsafe?: HookName[];
}

export interface InstallContext {
  root: string;
  gitDir: string;
  commonDir: string;
  nodePath: string;
  binPath: string;
}

export interface EffectiveHooksDir {
  dir: string;
  kind: 'core.hooksPath' | 'husky' | 'git';
  writable: boolean;
  note?: string;
}

/** Read-only git through the project's choke point: sanitized env, LC_ALL=C, no optional locks. */
async function gitRead(ctx: InstallContext, args: string[], okCodes: number[] = []): Promise<{ code: number; stdout: string }> {
  return createGit(ctx.root, null).run(args, { readOnly: true, okCodes, timeoutMs: 15_000 });
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

async function exists(path: string): Promise<boolean> {
  return fs.access(path).then(
    () => true,
    () => false,
  );
}

/** Writable, or creatable below its nearest existing ancestor. */
async function canWriteDir(dir: string): Promise<boolean> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const st = await fs.stat(d);
      if (!st.isDirectory()) return false;
      await fs.access(d, fs.constants.W_OK);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) return false;
    }
  }
}

export async function effectiveHooksDir(ctx: InstallContext): Promise<EffectiveHooksDir> {
  const cfg = await gitRead(ctx, ['config', '--type=path', '--get', 'core.hooksPath'], [1]);
  const configured = cfg.code === 0 ? cfg.stdout.replace(/\r?\n$/, '') : '';
  if (configured !== '') {
    // Relative to where hooks run: the work tree root (git-config(1) core.hooksPath).
    const dir = resolve(ctx.root, configured);
    const husky = basename(dir) === '_' && ((await exists(join(dir, 'h'))) || basename(dirname(dir)) === '.husky');
    if (husky) {
      const target = dirname(dir);
      if (isInside(ctx.root, target)) return { dir: target, kind: 'husky', writable: await canWriteDir(target) };
      return { dir: target, kind: 'husky', writable: false, note: outsideNote(dir) };
    }
    if (isInside(ctx.root, dir) || isInside(ctx.commonDir, dir)) return { dir, kind: 'core.hooksPath', writable: await canWriteDir(dir) };
    return { dir, kind: 'core.hooksPath', writable: false, note: outsideNote(dir) };
  }
  const out = await gitRead(ctx, ['rev-parse', '--git-path', 'hooks']);
  const dir = resolve(ctx.root, out.stdout.trim());
  return { dir, kind: 'git', writable: await canWriteDir(dir) };
}

function outsideNote(dir: string): string {
  return `core.hooksPath is ${dir}, outside this work tree (a shared or global hooks directory), so sync-coordinator does not write there`;
}

function manualLines(dir: string): string {
  return HOOK_NAMES.map((h) => `add to ${join(dir, h)}, after its first line (the shebang):\n${blockText(h)}`).join('\n');
}

/** Where the installed script copies live: in the common git dir, out of any checkout's reach. */
export function installedScriptsDir(ctx: Pick<InstallContext, 'commonDir'>): string {
  return join(ctx.commonDir, SCRIPT_DIR_IN_GIT);
}

function scriptPath(ctx: InstallContext, hook: HookName): string {
  return join(installedScriptsDir(ctx), `${hook}.sh`);
}

function runtimePath(ctx: InstallContext): string {
  return join(installedScriptsDir(ctx), 'runtime');
}

/** The copies an old version wrote into the state directory, relative to the work tree. */
const LEGACY_FILES = [...HOOK_NAMES.map((h) => `${LEGACY_SCRIPT_DIR_REL}/${h}.sh`), `${LEGACY_SCRIPT_DIR_REL}/runtime`];

/**
 * Removes the old copies from the state directory, but not one that git tracks: that one
 * came from a remote tree, and deleting it would be a change the next sync commits
 * (the tracked-state check reports it instead).
 */
async function removeLegacyCopies(ctx: InstallContext): Promise<void> {
  const tracked = new Set((await gitRead(ctx, ['ls-files', '-z', '--', ...LEGACY_FILES])).stdout.split('\0').filter(Boolean));
  for (const rel of LEGACY_FILES) if (!tracked.has(rel)) await fs.rm(join(ctx.root, rel), { force: true });
  await fs.rmdir(join(ctx.root, LEGACY_SCRIPT_DIR_REL)).catch(() => {}); // only if empty: never someone else's files
}

/** hooks/<hook>.sh shipped with this package. */
async function packagedScript(hook: HookName): Promise<string> {
  const path = packagedHookScript(`${hook}.sh`);
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${hook}.sh of the sync-coordinator package at ${path}: ${(e as Error).message}`);
  }
}

function checkPath(what: string, value: string): void {
  if (!isAbsolute(value) || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new UsageError(`${what} must be an absolute path without control characters: ${JSON.stringify(value)}`);
  }
}

async function statusIn(ctx: InstallContext, dir: string): Promise<HooksStatus> {
  const hooks: Record<HookName, boolean> = { 'post-merge': false, 'pre-push': false };
  const unsafe: HookName[] = [];
  for (const hook of HOOK_NAMES) {
    const text = await readHook(join(dir, hook));
    const blocks = text === null ? [] : findBlocks(text).blocks.map((b) => text!.slice(b.start, b.end));
    if (blocks.some(isLegacyBlockText)) unsafe.push(hook);
    else hooks[hook] = blocks.length > 0 && (await exists(scriptPath(ctx, hook)));
  }
  return unsafe.length > 0 ? { dir, hooks, unsafe } : { dir, hooks };
}

/** The hook's bytes as a latin1 string (a 1:1 byte mapping, so writing it back is exact), or null. */
async function readHook(file: string): Promise<string | null> {
  try {
    return (await fs.readFile(file)).toString('latin1');
  } catch {
    return null;
  }
}

/**
 * Replace a hook file atomically with exactly these bytes and this mode. Not
 * writeFileAtomic: it writes UTF-8 (would alter a user's non-UTF-8 bytes) and its mode
 * goes through the umask (would alter a user's 0775).
 */
async function replaceHook(file: string, text: string, mode: number): Promise<void> {
  const tmp = tempPathFor(file);
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(Buffer.from(text, 'latin1'));
    await handle.chmod(mode & 0o7777);
    await handle.sync();
    await handle.close();
    await fs.rename(tmp, file);
  } catch (e) {
    await handle.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dirname(file));
}

async function addToHook(file: string, hook: HookName, kind: EffectiveHooksDir['kind']): Promise<{ changed: boolean; notes: string[] }> {
  const by = (why: string) => ({ changed: false, notes: [`${file}: ${why}; add these lines to it by hand, after its shebang:\n${blockText(hook)}`] });
  let st: Awaited<ReturnType<typeof fs.lstat>> | null;
  try {
    st = await fs.lstat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    st = null;
  }
  if (!st) {
    // husky runs .husky/<hook> with `sh -e`: no shebang or exec bit (as `husky init` writes them).
    await fs.mkdir(dirname(file), { recursive: true });
    await replaceHook(file, (kind === 'husky' ? '' : CREATED_HEADER) + blockText(hook, true), kind === 'husky' ? 0o644 : 0o755);
    return { changed: true, notes: [] };
  }
  if (st.isSymbolicLink()) return by('is a symbolic link, which sync-coordinator does not edit through');
  if (!st.isFile()) return by('is not a regular file');
  const current = (await readHook(file)) ?? '';
  if (findBlocks(current).malformed) return by(`has a sync-coordinator marker without its partner (edited by hand?); fix the markers first`);
  if (kind !== 'husky' && !acceptsShellLines(current)) return by(`runs ${shebangInterpreter(current) ?? 'another interpreter'}, not sh`);
  const { text, created } = removeBlocks(current);
  const next = insertBlock(text, blockText(hook, created));
  const notes: string[] = [];
  if (kind !== 'husky' && (st.mode & 0o111) === 0) {
    notes.push(`${file} is not executable, so git skips it and our line; run \`chmod +x ${file}\` if the hook should run`);
  }
  if (next === current) return { changed: false, notes };
  await replaceHook(file, next, st.mode);
  return { changed: true, notes };
}

async function removeFromHook(file: string): Promise<boolean> {
  try {
    const st = await fs.lstat(file);
    if (!st.isFile()) return false;
    const current = (await readHook(file)) ?? '';
    const { text, found, created } = removeBlocks(current);
    if (!found) return false;
    if (created && (text === '' || text === CREATED_HEADER)) await fs.rm(file);
    else await replaceHook(file, text, st.mode);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Copies of the scripts plus the node and bin paths, in the common git dir. */
async function writeScripts(ctx: InstallContext): Promise<void> {
  // The post-merge script queues into the state directory and does nothing without it.
  await ensureStateDir({ root: ctx.root, gitDir: ctx.gitDir, commonDir: ctx.commonDir, paths: statePaths(ctx.root), git: createGit(ctx.root, null) });
  await fs.mkdir(installedScriptsDir(ctx), { recursive: true, mode: 0o700 });
  const wanted: [string, string][] = [[runtimePath(ctx), `${ctx.nodePath}\n${ctx.binPath}\n`]];
  for (const hook of HOOK_NAMES) wanted.push([scriptPath(ctx, hook), await packagedScript(hook)]);
  for (const [file, text] of wanted) {
    if ((await readHook(file)) !== text) await writeFileAtomic(file, text);
  }
}

export async function installHooks(ctx: InstallContext): Promise<HooksStatus & { changed: string[]; notes: string[] }> {
  checkPath('node path', ctx.nodePath);
  checkPath('bin path', ctx.binPath);
  const eff = await effectiveHooksDir(ctx);
  await writeScripts(ctx);
  await removeLegacyCopies(ctx);
  const changed: string[] = [];
  const notes: string[] = [];
  if (!eff.writable) {
    notes.push(`${eff.note ?? `cannot write to ${eff.dir}`}; to use the sync-coordinator hooks, ${manualLines(eff.dir)}`);
    return { ...(await statusIn(ctx, eff.dir)), changed, notes };
  }
  for (const hook of HOOK_NAMES) {
    const file = join(eff.dir, hook);
    const r = await addToHook(file, hook, eff.kind);
    if (r.changed) changed.push(file);
    notes.push(...r.notes);
  }
  if (eff.kind !== 'git' && changed.length > 0 && isInside(ctx.root, eff.dir)) {
    notes.push(
      `${changed.map((f) => relative(ctx.root, f)).join(' and ')} ${changed.length > 1 ? 'are' : 'is'} in the work tree: commit the change; ` +
        'its lines do nothing on a clone where `sync-coordinator hooks install` has not run',
    );
  }
  return { ...(await statusIn(ctx, eff.dir)), changed, notes };
}

export async function uninstallHooks(ctx: InstallContext): Promise<HooksStatus & { changed: string[] }> {
  const eff = await effectiveHooksDir(ctx);
  // Also the default directory: the block may predate a later core.hooksPath (husky added).
  const dirs = new Set<string>([join(ctx.commonDir, 'hooks')]);
  if (eff.writable) dirs.add(eff.dir);
  const changed: string[] = [];
  for (const dir of dirs) {
    for (const hook of HOOK_NAMES) {
      const file = join(dir, hook);
      if (await removeFromHook(file)) changed.push(file);
    }
  }
  for (const file of [...HOOK_NAMES.map((h) => scriptPath(ctx, h)), runtimePath(ctx)]) await fs.rm(file, { force: true });
  await fs.rmdir(installedScriptsDir(ctx)).catch(() => {}); // only if empty: never someone else's files
  await fs.rmdir(dirname(installedScriptsDir(ctx))).catch(() => {});
  await removeLegacyCopies(ctx);
  return { ...(await statusIn(ctx, eff.dir)), changed };
}

export async function hooksStatus(ctx: InstallContext): Promise<HooksStatus> {
  return statusIn(ctx, (await effectiveHooksDir(ctx)).dir);
}
