/**
 * Reading a ref's oid from git's files (loose ref, then packed-refs) without a process:
 * the pipeline reads the remote-tracking ref before and after each fetch. Returns null
 * when the ref does not exist. Symbolic refs are not followed (remote-tracking branches
 * and branches are never symbolic here).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

export async function readRef(commonDir: string, ref: string): Promise<string | null> {
  try {
    const loose = (await fs.readFile(join(commonDir, ref), 'utf8')).trim();
    if (OID.test(loose)) return loose;
  } catch {
    /* not loose */
  }
  let packed: string;
  try {
    packed = await fs.readFile(join(commonDir, 'packed-refs'), 'utf8');
  } catch {
    return null;
  }
  for (const line of packed.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0 && line.slice(space + 1) === ref && OID.test(line.slice(0, space))) return line.slice(0, space);
  }
  return null;
}
