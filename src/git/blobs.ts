/**
 * Blob contents in and out of the object store: many read in one `cat-file --batch`,
 * one written by `hash-object -w`. The tree merge reads every side of a file this way
 * and writes what it merged, without touching the work tree.
 */
import type { Git } from './git.js';

/** Blobs by id in one `cat-file --batch` (null stays null). */
export async function readBlobs(git: Git, ids: Array<string | null>): Promise<Array<Buffer | null>> {
  const wanted = ids.filter((x): x is string => !!x);
  if (wanted.length === 0) return ids.map(() => null);
  const out = (await git.run(['cat-file', '--batch'], { readOnly: true, input: wanted.map((x) => `${x}\n`).join('') })).stdoutBytes;
  const found = new Map<string, Buffer>();
  let at = 0;
  for (const id of wanted) {
    const nl = out.indexOf(0x0a, at);
    if (nl < 0) break;
    const header = out.subarray(at, nl).toString('utf8').split(' ');
    const size = Number(header[2]);
    if (header[1] === 'missing' || !Number.isFinite(size)) {
      at = nl + 1;
      continue;
    }
    found.set(id, out.subarray(nl + 1, nl + 1 + size));
    at = nl + 1 + size + 1;
  }
  return ids.map((x) => (x ? ((found.get(x) as Buffer | undefined) ?? null) : null));
}

export async function writeBlob(git: Git, content: Buffer): Promise<string> {
  return (await git.run(['hash-object', '-w', '--stdin'], { input: content })).stdout.trim();
}
