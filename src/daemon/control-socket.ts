/**
 * The control socket's listener: an HTTP/1.1 server on a Unix socket in a 0700
 * directory, the socket itself 0600. It is created with the process umask and then
 * chmod'ed: no other user can reach it in between, since its directory is already
 * 0700 (a umask would be process-wide and race the other workspaces' file writes). A socket file
 * left by a killed daemon (nothing answers on it) is replaced; one that answers
 * belongs to a live daemon and is left alone.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { connect } from 'node:net';
import { promises as fs } from 'node:fs';
import { StateDirError } from '../shared/errors.js';
import { checkSocketDir, checkSocketFile, currentUid } from '../shared/socket-check.js';

export async function prepareSocketDir(dir: string, uid = currentUid()): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const v = checkSocketDir(await fs.lstat(dir), uid, dir);
  if (!v.ok) throw new StateDirError(`refusing to use the control socket directory: ${v.reason}`);
}

/** Remove a stale socket; refuse a file that is not ours or answers. 'absent' | 'replaced'. */
export async function clearStaleSocket(path: string, uid = currentUid()): Promise<'absent' | 'replaced'> {
  let st: Awaited<ReturnType<typeof fs.lstat>>;
  try {
    st = await fs.lstat(path);
  } catch {
    return 'absent';
  }
  const v = checkSocketFile(st, uid, path);
  if (!v.ok && !st.isSocket()) throw new StateDirError(`refusing to replace ${path}: ${v.reason}`);
  if (st.uid !== uid) throw new StateDirError(`refusing to replace ${path}: ${v.ok ? '' : v.reason}`);
  if (await answers(path)) throw new StateDirError(`another daemon answers on ${path}`);
  await fs.rm(path, { force: true });
  return 'replaced';
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

export async function listenControlSocket(dir: string, path: string, handler: RequestListener): Promise<{ server: Server; replaced: boolean }> {
  await prepareSocketDir(dir);
  const replaced = (await clearStaleSocket(path)) === 'replaced';
  const server = createServer(handler);
  // Keep-alive is pointless for one-shot CLI clients and would keep sockets open.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fs.chmod(path, 0o600);
  const v = checkSocketFile(await fs.lstat(path), currentUid(), path);
  if (!v.ok) {
    server.close();
    throw new StateDirError(`the control socket came out wrong: ${v.reason}`);
  }
  return { server, replaced };
}

export async function closeControlSocket(server: Server, path: string): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((r) => server.close(() => r()));
  await fs.rm(path, { force: true }).catch(() => {});
}
