/**
 * Who may trust the control socket (DESIGN.md section 11): its directory must be a real
 * directory owned by the user with mode 0700, the socket a socket owned by the user
 * with no access for group or others. File permissions are the socket's only guard (no
 * token), so a socket or directory that another user could have made or can reach is
 * refused by the daemon and by every client. Pure over lstat results so that the
 * "other user" cases are testable as root.
 */
import { lstatSync, type Stats } from 'node:fs';

export type SocketVerdict = { ok: true } | { ok: false; reason: string };

type StatLike = Pick<Stats, 'uid' | 'mode' | 'isDirectory' | 'isSocket' | 'isSymbolicLink'>;

export function checkSocketDir(st: StatLike, uid: number, dir: string): SocketVerdict {
  if (st.isSymbolicLink()) return { ok: false, reason: `${dir} is a symlink` };
  if (!st.isDirectory()) return { ok: false, reason: `${dir} is not a directory` };
  if (st.uid !== uid) return { ok: false, reason: `${dir} is owned by uid ${st.uid}, not by this user (uid ${uid})` };
  if ((st.mode & 0o777) !== 0o700) return { ok: false, reason: `${dir} has mode ${(st.mode & 0o777).toString(8)}, expected 700` };
  return { ok: true };
}

export function checkSocketFile(st: StatLike, uid: number, path: string): SocketVerdict {
  if (!st.isSocket()) return { ok: false, reason: `${path} is not a socket` };
  if (st.uid !== uid) return { ok: false, reason: `${path} is owned by uid ${st.uid}, not by this user (uid ${uid})` };
  if ((st.mode & 0o077) !== 0) return { ok: false, reason: `${path} has mode ${(st.mode & 0o777).toString(8)}, expected 600` };
  return { ok: true };
}

export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}

/** Client side: may this socket be used? null when absent (the daemon is not running). */
export function verifySocket(dir: string, path: string, uid = currentUid()): SocketVerdict | null {
  let d: Stats;
  let f: Stats;
  try {
    d = lstatSync(dir);
    f = lstatSync(path);
  } catch {
    return null;
  }
  const vd = checkSocketDir(d, uid, dir);
  return vd.ok ? checkSocketFile(f, uid, path) : vd;
}
