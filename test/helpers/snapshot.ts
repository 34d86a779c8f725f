/**
 * Everything a command could change below `dir`: each file's hash and each directory,
 * to assert that bad input (or a read-only command) changed nothing. Git's object store
 * is left out: objects are content-addressed and only ever added.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (p.includes('/.git/objects')) continue;
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        out[relative(dir, p) + '/'] = '';
        walk(p);
      } else out[relative(dir, p)] = createHash('sha1').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}
