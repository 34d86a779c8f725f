/**
 * `GET .../status` for many clients at once (a dashboard per tab, scripts polling):
 * building the view reads a dozen files and runs git, so the answer (already as JSON
 * text) is reused while none of the files it is built from has changed (their stat:
 * inode, size, mtime, ctime) and it is younger than MAX_AGE_MS, which bounds what no
 * file shows (a lock owner that died, a rate-limit window or breaker cool-down running
 * out). Concurrent misses share one build that started after they asked (coalesce.ts).
 * Between MAX_AGE_MS and twice that, with no file changed, the answer is still served
 * while one build refreshes it in the background, so steady polling never waits for
 * git: what no file shows is then at most 2 × MAX_AGE_MS old, what a file shows never.
 *
 * The stats are synchronous: a handful of stat calls cost microseconds, while fifty
 * requests at once would otherwise queue hundreds of them on libuv's four threads.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Workspace } from '../git/workspace.js';
import { createCoalescer } from './coalesce.js';

export const MAX_AGE_MS = 500;

interface Built {
  key: string;
  at: number;
  json: string;
}

export function createStatusCache() {
  const coalesce = createCoalescer<Built>();
  const last = new Map<string, Built>();
  return async (id: string, ws: Workspace, build: () => Promise<unknown>): Promise<string> => {
    const refresh = () =>
      coalesce(id, async () => {
        // Fingerprint first: a change during the build makes the next request rebuild.
        const key = fingerprint(ws);
        const at = Date.now();
        return { key, at, json: JSON.stringify(await build()) };
      }).then((fresh) => {
        if ((last.get(id)?.at ?? 0) <= fresh.at) last.set(id, fresh);
        return fresh;
      });
    const hit = last.get(id);
    const age = hit ? Date.now() - hit.at : Number.POSITIVE_INFINITY;
    if (hit && age < 2 * MAX_AGE_MS && hit.key === fingerprint(ws)) {
      if (age >= MAX_AGE_MS) refresh().catch(() => last.delete(id));
      return hit.json;
    }
    return (await refresh()).json;
  };
}

/** The stat of everything buildStatus reads; a directory's mtime covers files created, renamed or removed in it. */
function fingerprint(ws: Workspace): string {
  const p = ws.paths;
  const files = [p.dir, p.queue, p.lockDir, p.state, p.conflictsLog, p.config, p.daemonPid, join(p.dir, 'daemon-state.json'), join(ws.gitDir, 'index')];
  return files
    .map((f) => {
      const s = statSync(f, { bigint: true, throwIfNoEntry: false });
      return s ? `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : '-';
    })
    .join('|');
}
