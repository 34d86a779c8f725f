/**
 * Pure parser for `git status --porcelain=v1 -z --untracked-files=all` (tested against
 * captured output), and the change summary the commit message is made of.
 */
export interface StatusEntry {
  x: string;
  y: string;
  path: string;
  origPath?: string;
}

export function parseStatusZ(out: string): StatusEntry[] {
  const parts = out.split('\0');
  const entries: StatusEntry[] = [];
  for (let i = 0; i < parts.length; i++) {
    const rec = parts[i];
    if (!rec || rec.length < 4) continue;
    const x = rec[0] ?? ' ';
    const y = rec[1] ?? ' ';
    const entry: StatusEntry = { x, y, path: rec.slice(3) };
    // Renames and copies carry the original path as the next NUL-separated field.
    if (x === 'R' || x === 'C' || y === 'R' || y === 'C') {
      entry.origPath = parts[i + 1] ?? '';
      i++;
    }
    entries.push(entry);
  }
  return entries;
}

export interface ChangeSummary {
  added: string[];
  modified: string[];
  deleted: string[];
  renamed: string[];
}

export function summarize(entries: StatusEntry[]): ChangeSummary {
  const s: ChangeSummary = { added: [], modified: [], deleted: [], renamed: [] };
  for (const e of entries) {
    const code = e.x === '?' ? '?' : e.x !== ' ' ? e.x : e.y;
    if (code === '?' || code === 'A') s.added.push(e.path);
    else if (code === 'D') s.deleted.push(e.path);
    else if (code === 'R' || code === 'C') s.renamed.push(e.path);
    else s.modified.push(e.path);
  }
  return s;
}
