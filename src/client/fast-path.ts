/**
 * The control-socket client: `sync-now`, `request-sync`, `status` and `conflicts` (the
 * list, and `--resolve <path>`) ask the user daemon
 * when it serves the work tree, before anything heavy loads (no commander, pino or zod:
 * the bins import this module first and the CLI only when it returns null).
 *
 * null = "not handled here, run the normal CLI": no socket, a refused socket (wrong
 * owner or mode), a daemon that does not serve this work tree (404/503), an option this
 * parser does not know, or an environment it does not handle (a hook's GIT_DIR, our own
 * CLAUDE_SYNC_ACTIVE). A request the daemon accepted is never sent again by the normal
 * path: once the socket answered 2xx, its answer is the outcome.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { printableLine, safeValue } from '../shared/sanitize.js';
import { createProgress } from './progress.js';
import { printRequest } from './request-print.js';
import { socketCall } from './socket-http.js';
import { verifySocket } from '../shared/socket-check.js';
import { userPaths, workspaceId } from '../shared/user-paths.js';

interface Parsed {
  cwd: string;
  cmd: 'sync-now' | 'status' | 'request-sync' | 'conflicts';
  json: boolean;
  wait: boolean;
  timeout: string | undefined;
  reason: string | undefined;
  resolve: string | undefined;
  positionals: string[];
}

export async function tryControlSocket(argv: string[], name = 'sync-coordinator', env: NodeJS.ProcessEnv = process.env): Promise<number | null> {
  if (env.CLAUDE_SYNC_ACTIVE === '1' || env.GIT_DIR || env.GIT_WORK_TREE || env.SYNC_COORDINATOR_NO_SOCKET === '1') return null;
  const p = parse(argv);
  if (!p) return null;
  const up = userPaths(env);
  const verdict = verifySocket(up.runtimeDir, up.socket);
  if (!verdict) return null;
  if (!verdict.ok) {
    process.stderr.write(`${name}: not using the control socket: ${safeValue(verdict.reason)}\n`);
    return null;
  }
  const root = findRoot(p.cwd);
  if (!root) return null;
  const id = workspaceId(root);
  // As the CLI's ctx.out / ctx.err: every line made printable here, once.
  const out = (l: string) => process.stdout.write(printableLine(l) + '\n');
  const err = (l: string) => process.stderr.write(printableLine(l) + '\n');
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  }

  if (p.cmd === 'status') {
    const r = await call(up.socket, 'GET', `/api/v1/workspaces/${id}/status`);
    if (!r || r.status === 404 || r.status === 503) return null;
    const body = JSON.parse(await text(r.res)) as Record<string, unknown>;
    if (r.status !== 200) return fail(err, name, body);
    if (p.json) out(JSON.stringify(body));
    else {
      const { humanStatus } = await import('./status-text.js');
      for (const line of humanStatus(body as never)) out(line);
    }
    return 0;
  }

  if (p.cmd === 'conflicts') return conflicts(up.socket, id, p, name, out, err);

  if (p.cmd === 'sync-now') {
    const reason = p.reason ?? 'sync-now';
    const r = await call(up.socket, 'POST', `/api/v1/workspaces/${id}/sync?wait=1&stream=1`, { type: 'manual', priority: 'high', caller: 'sync-now', reason });
    if (!r || r.status === 404 || r.status === 503) return null;
    if (r.status !== 200) return fail(err, name, JSON.parse(await text(r.res)) as Record<string, unknown>);
    const progress = createProgress(out, p.json ? 'silent' : process.stdout.isTTY === true ? 'tty' : 'lines');
    let final: Record<string, unknown> | null = null;
    await lines(r.res, (ev) => {
      if (ev.event === 'step') progress.step(String(ev.step));
      else if (ev.event === 'result' || ev.event === 'error') final = ev;
    });
    progress.done();
    const o = (final ?? { event: 'error', error: 'the daemon closed the connection before the result', exit_code: 1 }) as Record<string, unknown>;
    if (o.event === 'error') return fail(err, name, o);
    if (o.status === 'queued') {
      if (p.json) out(JSON.stringify({ id: o.id, status: 'queued', type: 'manual', priority: 'high', result: null }));
      else err('sync-now: the request is still queued (another process holds the lock)');
      return 4;
    }
    if (p.json) out(JSON.stringify({ id: o.id, status: o.status, type: 'manual', priority: 'high', result: o.result, op: o.op, message: o.message }));
    else {
      const line = `${String(o.result ?? o.status)}: ${String(o.message)}${o.op ? ` (op ${String(o.op)})` : ''}`;
      (o.exit_code === 0 ? out : err)(line);
    }
    return o.status === 'rejected' ? 3 : Number(o.exit_code ?? 1);
  }

  // request-sync <type> <caller> [priority] [reason...]
  const [type = '', caller = '', priority, ...reason] = p.positionals;
  const timeoutS = Number(p.timeout ?? '300');
  if (!Number.isFinite(timeoutS) || timeoutS < 0) return null; // the CLI says what is wrong
  const query = p.wait ? `?wait=1&timeout=${timeoutS}` : '';
  const r = await call(up.socket, 'POST', `/api/v1/workspaces/${id}/sync${query}`, { type, caller, priority: priority ?? null, reason: reason.join(' ') });
  if (!r || r.status === 404 || r.status === 503) return null;
  const body = JSON.parse(await text(r.res)) as Record<string, unknown>;
  if (r.status !== 200 && r.status !== 202) return fail(err, name, body);
  const o = body as {
    id: string;
    type: string;
    priority: string;
    status: string;
    result: string | null;
    message: string;
    exit_code: number;
    resets_at?: string | null;
  };
  if (p.wait && o.status === 'queued') {
    printRequest(out, err, p, o as never, { ...o, message: `still queued after ${timeoutS} s (another sync holds the lock)` });
    return 4;
  }
  printRequest(out, err, p, o as never, o);
  return o.status === 'rejected' ? 3 : (o.exit_code ?? 0);
}

/** `conflicts [--json]` and `conflicts --resolve <path> [--json]` through the daemon: the same output and codes as the CLI. */
async function conflicts(socket: string, id: string, p: Parsed, name: string, out: (l: string) => void, err: (l: string) => void): Promise<number | null> {
  const r =
    p.resolve === undefined
      ? await call(socket, 'GET', `/api/v1/workspaces/${id}/conflicts`)
      : await call(socket, 'POST', `/api/v1/workspaces/${id}/conflicts/resolve`, { path: p.resolve });
  if (!r || r.status === 404 || r.status === 503) return null;
  const body = JSON.parse(await text(r.res)) as Record<string, unknown>;
  if (r.status !== 200) return fail(err, name, body);
  const { conflictLines, resolveLines } = await import('./conflicts-text.js');
  if (p.json) out(JSON.stringify(body));
  else if (p.resolve === undefined) for (const line of conflictLines(body as never, null)) out(line);
  else for (const line of resolveLines(body as never)) out(line);
  return 0;
}

function fail(err: (l: string) => void, name: string, body: Record<string, unknown>): number {
  err(`${name}: ${String(body.error ?? 'the daemon failed')}`);
  return typeof body.exit_code === 'number' ? body.exit_code : 1;
}

function parse(argv: string[]): Parsed | null {
  let cwd = process.cwd();
  let i = 0;
  while (argv[i] === '-C') {
    const v = argv[i + 1];
    if (v === undefined) return null;
    cwd = resolve(cwd, v);
    i += 2;
  }
  const cmd = argv[i++];
  if (cmd !== 'sync-now' && cmd !== 'status' && cmd !== 'request-sync' && cmd !== 'conflicts') return null;
  const p: Parsed = { cwd, cmd, json: false, wait: false, timeout: undefined, reason: undefined, resolve: undefined, positionals: [] };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') p.json = true;
    else if (a === '--wait' && cmd === 'request-sync') p.wait = true;
    else if (a === '--timeout' && cmd === 'request-sync' && argv[i + 1] !== undefined) p.timeout = argv[++i];
    else if (a === '--reason' && cmd === 'sync-now' && argv[i + 1] !== undefined) p.reason = argv[++i];
    else if (a === '--resolve' && cmd === 'conflicts' && p.resolve === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-'))
      p.resolve = argv[++i];
    else if (a.startsWith('--resolve=') && cmd === 'conflicts' && p.resolve === undefined) p.resolve = a.slice('--resolve='.length);
    else if (a.startsWith('-'))
      return null; // --help, --enqueue-only, -- and the like: the CLI's job
    else if (cmd === 'request-sync') p.positionals.push(a);
    else return null;
  }
  if (cmd === 'request-sync' && p.positionals.length < 2) return null;
  return p;
}

/** The work tree's real root, found as git does for the common case (a `.git` entry); null = let git decide. */
function findRoot(start: string): string | null {
  try {
    for (let d = realpathSync(start); ; d = dirname(d)) {
      if (existsSync(join(d, '.git'))) return d;
      if (dirname(d) === d) return null;
    }
  } catch {
    return null;
  }
}

async function call(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; res: AsyncIterable<Buffer> } | null> {
  const answer = await socketCall(socketPath, method, path, body);
  if (!answer) return null;
  // Not ours to answer (404/503): drop the connection now, the CLI takes over.
  if (answer.status === 404 || answer.status === 503) answer.close();
  return { status: answer.status, res: answer.body };
}

async function text(res: AsyncIterable<Buffer>): Promise<string> {
  // One decoder for the whole body: a character split across two chunks stays whole.
  const utf8 = new TextDecoder();
  let s = '';
  for await (const c of res) s += utf8.decode(c, { stream: true });
  return s + utf8.decode();
}

async function lines(res: AsyncIterable<Buffer>, on: (ev: Record<string, unknown>) => void): Promise<void> {
  const utf8 = new TextDecoder();
  let buf = '';
  for await (const c of res) {
    buf += utf8.decode(c, { stream: true });
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) on(JSON.parse(line) as Record<string, unknown>);
    }
  }
}
