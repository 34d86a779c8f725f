// Reads the committed corpus: bench/corpus/*.corpus.json.gz, each
// { set, sources, blobs: [[ref, ops], ...], cases: [{ kind, path, base, ours, theirs,
// expected, oursTime, theirsTime, source }] } with blob indexes in the cases.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decodeDelta } from './codec.mjs';

export const CORPUS_DIR = dirname(fileURLToPath(import.meta.url));

export function loadCorpus(dir = CORPUS_DIR) {
  const sets = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.corpus.json.gz')).sort()) {
    const data = JSON.parse(gunzipSync(readFileSync(join(dir, name))).toString('utf8'));
    const blobs = [];
    for (const [ref, ops] of data.blobs) blobs.push(decodeDelta(ref < 0 ? '' : blobs[ref], ops));
    const blob = (i) => (i === null ? null : blobs[i]);
    sets.push({
      set: data.set,
      cases: data.cases.map((c) => ({ ...c, base: blob(c.base), ours: blob(c.ours), theirs: blob(c.theirs), expected: blob(c.expected) })),
    });
  }
  return sets;
}
