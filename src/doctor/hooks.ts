/** Hooks: post-merge and pre-push installed in the hooks directory git actually runs. */
import { hooksStatus, type HooksStatus } from '../../hooks/installer.js';
import { fail, ok, warn, type CheckResult } from './types.js';

const NAME = 'hooks';
const FIX = 'sync-coordinator hooks install';

export function judgeHooks(s: HooksStatus): CheckResult {
  if (s.unsafe?.length) {
    return fail(
      NAME,
      `${s.unsafe.join(' and ')} in ${s.dir}: an old, unsafe installation that runs a script from the state directory, which a pulled commit can replace`,
      FIX,
    );
  }
  const entries = Object.entries(s.hooks);
  const missing = entries.filter(([, installed]) => !installed).map(([name]) => name);
  if (missing.length === 0) return ok(NAME, `${entries.map(([n]) => n).join(' and ')} installed in ${s.dir}`);
  if (missing.length === entries.length)
    return warn(NAME, `not installed (in ${s.dir}): pulls by hand do not trigger a sync and pushes do not wait for one`, FIX);
  return warn(NAME, `${missing.join(' and ')} not installed (in ${s.dir})`, FIX);
}

export async function checkHooks(ws: { root: string; gitDir: string; commonDir: string }): Promise<CheckResult> {
  try {
    // nodePath/binPath are only used by install; status reads the hooks dir and the scripts.
    const s = await hooksStatus({ root: ws.root, gitDir: ws.gitDir, commonDir: ws.commonDir, nodePath: process.execPath, binPath: '' });
    return judgeHooks(s);
  } catch (e) {
    return warn(NAME, `cannot read the hooks: ${(e as Error).message}`, FIX);
  }
}
