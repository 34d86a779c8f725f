/**
 * The edit model and its ledger: every edit the chaos run makes in a clone's work tree
 * is "accepted" and recorded here, and the final check asks the ledger which contents
 * must still exist somewhere in the final tree.
 *
 * Every written content carries a unique token line (`tok-<seed>-<clone>-<n>`), so a
 * token identifies one edit wherever it ends up (at its path, in a conflict copy, or,
 * when something went wrong, elsewhere or only in history).
 *
 * Two kinds of files:
 * - own files `own/<clone>/f<n>.txt`: only that clone ever writes them (create, rewrite,
 *   delete). Each write's token must survive with the exact content unless a later
 *   write or delete of the same file in the same clone replaced it. These are also
 *   edited *while* syncs run in the clone (no other writer exists, so any loss is the
 *   coordinator's).
 * - shared files `shared/s<i>.txt` of LINES lines: an edit replaces one line with a token
 *   (same line in several clones = a conflict; different lines = a clean merge), a
 *   delete removes the file. A token is superseded only when an edit, in any clone,
 *   overwrote or deleted *that token* (it was in the file when the edit read it): the
 *   edit then saw it and replaced it on purpose. Shared edits are made only while the
 *   clone is quiescent (no lock held by a live owner, no git running in it, no rebase or
 *   merge in progress), because a read-modify-write racing a checkout would make the
 *   test itself overwrite content it never saw.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const SHARED_FILES = 4;
export const SHARED_LINES = 8;
export const TOKEN_RE = /^tok-\d+-[a-z]+-\d+$/;
const MARKER_RE = /^(<{7}|={7}|>{7})( |$)/m;

export type EditKind = 'own-create' | 'own-write' | 'own-delete' | 'shared-line' | 'shared-delete';

export interface TokenRecord {
  token: string;
  clone: string;
  path: string;
  kind: 'own' | 'shared';
  /** Exact content (own files). */
  content: string | null;
  round: number;
  /** Made while CLI processes were running in the run (own files only). */
  concurrent: boolean;
}

export interface EditEvent {
  seq: number;
  round: number;
  clone: string;
  kind: EditKind;
  path: string;
  token: string | null;
  superseded: string[];
  concurrent: boolean;
  /** Wall-clock ms, to line the edit up with the coordinator's logs. */
  at: number;
}

interface OwnFile {
  path: string;
  token: string | null; // null = deleted
  content: string | null;
}

export function sharedPath(i: number): string {
  return `shared/s${i}.txt`;
}

export function sharedBase(i: number): string[] {
  return Array.from({ length: SHARED_LINES }, (_, k) => `base line ${k} of s${i}`);
}

export class Ledger {
  readonly tokens = new Map<string, TokenRecord>();
  readonly superseded = new Map<string, number>();
  readonly events: EditEvent[] = [];
  private seq = 0;
  private readonly own = new Map<string, OwnFile[]>();
  skippedBusy = 0;
  skippedMarkers = 0;
  skippedAbsent = 0;

  constructor(private readonly seed: number) {}

  private token(clone: string): string {
    return `tok-${this.seed}-${clone}-${++this.seq}`;
  }

  private record(e: Omit<EditEvent, 'seq' | 'at'>): void {
    this.events.push({ ...e, seq: this.seq, at: Date.now() });
    for (const t of e.superseded) this.superseded.set(t, this.seq);
  }

  ownFiles(clone: string): OwnFile[] {
    let list = this.own.get(clone);
    if (!list) {
      list = [];
      this.own.set(clone, list);
    }
    return list;
  }

  /** Create a new own file, or rewrite / delete an existing one. */
  ownEdit(repo: string, clone: string, round: number, action: 'create' | 'write' | 'delete', pick: (n: number) => number, concurrent: boolean): void {
    const files = this.ownFiles(clone);
    const live = files.filter((f) => f.token !== null);
    if (action !== 'create' && live.length === 0) action = 'create';
    if (action === 'create') {
      const token = this.token(clone);
      const path = `own/${clone}/f${files.length}.txt`;
      const content = `own file ${path}\n${token}\n`;
      writeAt(repo, path, content);
      files.push({ path, token, content });
      this.tokens.set(token, { token, clone, path, kind: 'own', content, round, concurrent });
      this.record({ round, clone, kind: 'own-create', path, token, superseded: [], concurrent });
      return;
    }
    const f = live[pick(live.length)]!;
    const prev = f.token!;
    if (action === 'delete') {
      // A delete is accepted only if it removed the file: while a sync's rebase has it
      // checked out away for a moment, there is nothing for the user to delete.
      try {
        rmSync(join(repo, f.path));
      } catch {
        this.skippedAbsent++;
        return;
      }
      f.token = null;
      f.content = null;
      this.record({ round, clone, kind: 'own-delete', path: f.path, token: null, superseded: [prev], concurrent });
      return;
    }
    const token = this.token(clone);
    const content = `own file ${f.path} rewritten\n${token}\n`;
    writeAt(repo, f.path, content);
    f.token = token;
    f.content = content;
    this.tokens.set(token, { token, clone, path: f.path, kind: 'own', content, round, concurrent });
    this.record({ round, clone, kind: 'own-write', path: f.path, token, superseded: [prev], concurrent });
  }

  /**
   * Replace line `line` of shared file `i` with a new token. `quiet()` is checked right
   * before the read (the read-modify-write takes well under a millisecond).
   */
  sharedLine(repo: string, clone: string, round: number, i: number, line: number, quiet: () => boolean): string | null {
    if (!quiet()) {
      this.skippedBusy++;
      return null;
    }
    const path = sharedPath(i);
    const abs = join(repo, path);
    let lines: string[];
    if (existsSync(abs)) {
      const text = readFileSync(abs, 'utf8');
      if (MARKER_RE.test(text)) {
        // git's half-finished merge in the work tree: a user would not save over it blindly.
        this.skippedMarkers++;
        return null;
      }
      lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
    } else {
      lines = sharedBase(i);
    }
    while (lines.length <= line) lines.push(`padding line ${lines.length}`);
    const old = lines[line]!;
    const token = this.token(clone);
    lines[line] = token;
    writeAt(repo, path, lines.join('\n') + '\n');
    this.tokens.set(token, { token, clone, path, kind: 'shared', content: null, round, concurrent: false });
    this.record({ round, clone, kind: 'shared-line', path, token, superseded: TOKEN_RE.test(old) ? [old] : [], concurrent: false });
    return token;
  }

  sharedDelete(repo: string, clone: string, round: number, i: number, quiet: () => boolean): boolean {
    if (!quiet()) {
      this.skippedBusy++;
      return false;
    }
    const path = sharedPath(i);
    const abs = join(repo, path);
    if (!existsSync(abs)) return false;
    const text = readFileSync(abs, 'utf8');
    if (MARKER_RE.test(text)) {
      this.skippedMarkers++;
      return false;
    }
    rmSync(abs, { force: true });
    const gone = text.split('\n').filter((l) => TOKEN_RE.test(l));
    this.record({ round, clone, kind: 'shared-delete', path, token: null, superseded: gone, concurrent: false });
    return true;
  }

  /** Tokens whose content must still exist in the final tree. */
  required(): TokenRecord[] {
    return [...this.tokens.values()].filter((t) => !this.superseded.has(t.token));
  }

  /** Own files whose last action was a delete (they must not come back). */
  deletedOwnFiles(): Array<{ clone: string; path: string }> {
    const out: Array<{ clone: string; path: string }> = [];
    for (const [clone, files] of this.own) for (const f of files) if (f.token === null) out.push({ clone, path: f.path });
    return out;
  }

  get accepted(): number {
    return this.events.length;
  }
}

function writeAt(repo: string, path: string, content: string): void {
  const abs = join(repo, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
}
