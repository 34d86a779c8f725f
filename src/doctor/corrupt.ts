/**
 * Corrupt state or queue files that were moved aside (`<name>.corrupt-<ts>`,
 * invariant 10): the coordinator went on with fresh data, but someone should look.
 */
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { ok, warn, type CheckResult } from './types.js';
import { shellWord } from '../shared/shell-word.js';

const NAME = 'corrupt files';
const PATTERN = /\.corrupt-/;

export async function findCorrupt(stateDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of [stateDir, join(stateDir, 'queue'), join(stateDir, 'results')]) {
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) if (PATTERN.test(n)) found.push(join(dir, n));
  }
  return found.sort();
}

export function judgeCorrupt(files: string[], root: string): CheckResult {
  if (files.length === 0) return ok(NAME, 'none');
  const rel = files.map((f) => relative(root, f));
  const shown = rel.slice(0, 3).join(', ') + (rel.length > 3 ? `, and ${rel.length - 3} more` : '');
  const fix =
    rel.length <= 3
      ? `look at them, then: rm -- ${rel.map(shellWord).join(' ')}`
      : `look at them, then: find ${shellWord(relative(root, join(files[0]!, '..')) || '.')} -name '*.corrupt-*' -delete`;
  return warn(NAME, `${files.length} corrupt file${files.length === 1 ? ' was' : 's were'} moved aside: ${shown}`, `${fix}  (paths relative to ${root})`);
}

export async function checkCorrupt(stateDir: string, root: string): Promise<CheckResult> {
  return judgeCorrupt(await findCorrupt(stateDir), root);
}
