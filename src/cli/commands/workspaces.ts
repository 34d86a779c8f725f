/**
 * `add [path]`, `remove [path]`, `list [--json]`: the user daemon's registry
 * (DESIGN.md section 11). A running user daemon watches the registry and starts or
 * stops serving a workspace by itself.
 */
import { existsSync, promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import { hasControl } from '../../shared/sanitize.js';
import { ensureStateDir, resolveWorkspace } from '../../git/workspace.js';
import { readDaemonInfo } from '../../core/pidfile.js';
import { addWorkspace, readRegistry, removeWorkspace } from '../../shared/registry.js';
import { userPaths } from '../../shared/user-paths.js';
import type { CommandContext } from '../context.js';

/** The real work-tree root of `path`: exit 2 for a path that is not a directory, 6 outside git. */
export async function registrableRoot(ctx: CommandContext, pathArg: string | undefined): Promise<string> {
  if (pathArg !== undefined && (pathArg === '' || hasControl(pathArg) || pathArg.length > 4096))
    throw new UsageError('the path must be printable text, at most 4 KiB');
  const abs = resolve(ctx.cwd, pathArg ?? '.');
  let st: Awaited<ReturnType<typeof fs.stat>>;
  try {
    st = await fs.stat(abs);
  } catch {
    throw new UsageError(`no such directory: ${abs}`);
  }
  if (!st.isDirectory()) throw new UsageError(`not a directory: ${abs}`);
  const ws = await resolveWorkspace(abs);
  // Invariant 10: refuse a workspace whose config is invalid before anything is written.
  await loadConfig(ws.paths.config);
  await ensureStateDir(ws);
  return fs.realpath(ws.root);
}

export async function add(ctx: CommandContext, pathArg: string | undefined, opts: { json?: boolean }): Promise<number> {
  const root = await registrableRoot(ctx, pathArg);
  const up = userPaths();
  const { added, entry } = await addWorkspace(up.registry, root);
  const daemon = await readDaemonInfo(up.daemonPid);
  if (opts.json) ctx.out(JSON.stringify({ added, id: entry.id, path: entry.path, daemon: { running: daemon.running, pid: daemon.pid } }));
  else {
    ctx.out(`${added ? 'added' : 'already registered'}: ${entry.path} (id ${entry.id})`);
    if (!daemon.running) ctx.out('the user daemon is not running; start it with: sync-coordinator daemon start');
  }
  return 0;
}

export async function remove(ctx: CommandContext, pathArg: string | undefined, opts: { json?: boolean }): Promise<number> {
  if (pathArg !== undefined && (pathArg === '' || hasControl(pathArg) || pathArg.length > 4096))
    throw new UsageError('the path must be printable text, at most 4 KiB');
  const up = userPaths();
  // A workspace whose directory is gone can still be removed, by its path or its id.
  const candidates = new Set<string>();
  if (pathArg !== undefined) candidates.add(pathArg);
  const abs = resolve(ctx.cwd, pathArg ?? '.');
  candidates.add(abs);
  if (existsSync(abs)) {
    candidates.add(await fs.realpath(abs));
    try {
      candidates.add(await fs.realpath((await resolveWorkspace(abs)).root));
    } catch {
      /* not a work tree any more: its recorded path may still match */
    }
  }
  let removed = null;
  for (const c of candidates) {
    removed = await removeWorkspace(up.registry, c);
    if (removed) break;
  }
  if (!removed) throw new UsageError(`not a registered workspace: ${abs} (see "sync-coordinator list")`);
  if (opts.json) ctx.out(JSON.stringify({ removed: true, id: removed.id, path: removed.path }));
  else ctx.out(`removed: ${removed.path} (id ${removed.id}); the user daemon stops watching it`);
  return 0;
}

export async function list(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const up = userPaths();
  const reg = await readRegistry(up.registry);
  const daemon = await readDaemonInfo(up.daemonPid);
  const rows = await Promise.all(
    reg.workspaces.map(async (w) => {
      const exists = existsSync(w.path);
      const served = daemon.running && exists ? (await readDaemonInfo(`${w.path}/.claude/sync-coordination/daemon.pid`)).pid === daemon.pid : false;
      return { ...w, exists, served };
    }),
  );
  if (opts.json) {
    ctx.out(JSON.stringify({ daemon: { running: daemon.running, pid: daemon.pid }, workspaces: rows }));
    return 0;
  }
  ctx.out(`user daemon: ${daemon.running ? `running (pid ${daemon.pid})` : 'not running'}`);
  if (rows.length === 0) ctx.out('no workspaces registered (add one with: sync-coordinator add [path])');
  for (const r of rows)
    ctx.out(`${r.id}  ${r.path}${r.exists ? (daemon.running ? (r.served ? '  (served)' : '  (not served yet)') : '') : '  (MISSING: directory not found)'}`);
  return 0;
}
