/**
 * The state directory (DESIGN.md section 2): a real directory (not a symlink, which
 * could redirect the coordinator's writes), writable. Absent is fine (created on first
 * use) but worth an `init`. `usable` tells the runner whether the files inside may be
 * read at all (an absent directory is: every file in it reads as absent).
 */
import { constants, promises as fs } from 'node:fs';
import { StateDirError } from '../shared/errors.js';
import { assertStateDirSafe, type Workspace } from '../git/workspace.js';
import { fail, ok, warn, type CheckResult } from './types.js';
import { shellWord } from '../shared/shell-word.js';

const NAME = 'state dir';

export async function checkStateDir(ws: Workspace): Promise<{ result: CheckResult; usable: boolean }> {
  try {
    await assertStateDirSafe(ws);
  } catch (e) {
    const msg = (e as Error).message;
    return {
      result: fail(
        NAME,
        msg,
        e instanceof StateDirError && /symlink/.test(msg) ? 'remove the link and run: sync-coordinator init' : 'move it away and run: sync-coordinator init',
      ),
      usable: false,
    };
  }
  try {
    await fs.lstat(ws.paths.dir);
  } catch {
    return { result: warn(NAME, `${ws.paths.dir} does not exist yet (created on first use)`, 'sync-coordinator init'), usable: true };
  }
  try {
    await fs.access(ws.paths.dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    return { result: fail(NAME, `${ws.paths.dir} is not writable by this user`, `chmod u+rwx ${shellWord(ws.paths.dir)}`), usable: false };
  }
  return { result: ok(NAME, ws.paths.dir), usable: true };
}
