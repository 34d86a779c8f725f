/**
 * Pure parsers for `git status --porcelain=v1 -z` and `--porcelain=v2 -z --branch`
 * (tested against captured output), and the change summary the commit message is made of.
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

export interface BranchStatus {
  /** HEAD's commit; null on an unborn branch ("(initial)"). */
  head: string | null;
  /** The branch HEAD points at; null when detached. */
  branch: string | null;
  entries: StatusEntry[];
}

/**
 * `git status --porcelain=v2 -z --branch`: the entries (in v1's terms, so one summary
 * and one set of XY codes serve both) plus HEAD and its branch from the header, which
 * spares preflight a `rev-parse` process.
 */
export function parseStatusV2Z(out: string): BranchStatus {
  const parts = out.split('\0');
  const result: BranchStatus = { head: null, branch: null, entries: [] };
  let sawHead = false;
  for (let i = 0; i < parts.length; i++) {
    const rec = parts[i];
    if (!rec) continue;
    if (rec.startsWith('# ')) {
      const [key, ...rest] = rec.slice(2).split(' ');
      const value = rest.join(' ');
      if (key === 'branch.oid') result.head = value === '(initial)' ? null : value;
      if (key === 'branch.head') {
        sawHead = true;
        result.branch = value === '(detached)' ? null : value;
      }
      continue;
    }
    const kind = rec[0];
    if (kind === '?' || kind === '!') {
      result.entries.push({ x: kind, y: kind, path: rec.slice(2) });
      continue;
    }
    // Fields before the path: "1 XY sub mH mI mW hH hI", "2 ... Xscore", "u XY sub m1 m2 m3 mW h1 h2 h3".
    const fieldsBeforePath = kind === '1' ? 8 : kind === '2' ? 9 : kind === 'u' ? 10 : -1;
    if (fieldsBeforePath < 0) continue;
    let at = 0;
    for (let f = 0; f < fieldsBeforePath && at >= 0; f++) at = rec.indexOf(' ', at) + 1 || -1;
    if (at <= 0) continue;
    const xy = rec.slice(2, 4);
    const entry: StatusEntry = { x: v1Code(xy[0]), y: v1Code(xy[1]), path: rec.slice(at) };
    if (kind === '2') {
      entry.origPath = parts[i + 1] ?? '';
      i++;
    }
    result.entries.push(entry);
  }
  if (!sawHead) throw new Error('git status --branch printed no branch header');
  return result;
}

/** v2 writes "." where v1 writes a space (unchanged). */
function v1Code(c: string | undefined): string {
  return !c || c === '.' ? ' ' : c;
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
