/**
 * Conflict-copy names (DESIGN.md section 5, Syncthing's scheme):
 * `<name>.sync-conflict-<YYYYMMDD-HHMMSS>-<device>.<ext>`, with `-2`, `-3`, ... after the
 * device when that name is taken. Pure functions.
 *
 * - the extension is the part after the last dot of the file name (`a.tar.gz` → `gz`);
 * - a file without extension (`Makefile`, `-rf`, `name.`) gets no extension part;
 * - a dotfile's leading dot is part of its name, not an extension (`.bashrc` →
 *   `.bashrc.sync-conflict-…`), but `.env.local` → `.env.sync-conflict-….local`;
 * - the directory is kept; the time is UTC (like op ids).
 */
const STAMP_MARK = '.sync-conflict-';

export function conflictStamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

export function splitName(file: string): { stem: string; ext: string } {
  const dot = file.lastIndexOf('.');
  // No dot, only a leading dot (dotfile), or a trailing dot: no extension.
  if (dot <= 0 || dot === file.length - 1) return { stem: file, ext: '' };
  return { stem: file.slice(0, dot), ext: file.slice(dot + 1) };
}

/**
 * The n-th candidate (n = 1 is the plain name) for a conflict copy of `path`. A conflict
 * on a conflict copy is named after the original file: one level, never
 * `a.sync-conflict-X-a.sync-conflict-Y-b.txt`.
 */
export function conflictCopyName(path: string, stamp: string, device: string, n = 1): string {
  path = originalOf(path);
  const slash = path.lastIndexOf('/');
  const dir = slash >= 0 ? path.slice(0, slash + 1) : '';
  const { stem, ext } = splitName(path.slice(slash + 1));
  const suffix = n > 1 ? `-${n}` : '';
  return `${dir}${stem}${STAMP_MARK}${stamp}-${device}${suffix}${ext ? `.${ext}` : ''}`;
}

/** The first free conflict-copy name for `path`. */
export function pickConflictCopyPath(path: string, stamp: string, device: string, taken: (candidate: string) => boolean): string {
  for (let n = 1; n < 10_000; n++) {
    const candidate = conflictCopyName(path, stamp, device, n);
    if (!taken(candidate)) return candidate;
  }
  throw new Error(`no free conflict-copy name for ${path}`);
}

/** True for a file name made by this module (so it is never treated as a new conflict source). */
export function isConflictCopy(path: string): boolean {
  return /\.sync-conflict-\d{8}-\d{6}-[A-Za-z0-9_-]+(\.[^/]*)?$/.test(path);
}

export interface ParsedCopy {
  /** The path the copy belongs beside (itself never a copy). */
  original: string;
  stamp: string;
  /** The device that made it (config `device_name` there, else its host name). */
  device: string;
  /** The `-2`, `-3`, ... counter, 1 when absent. */
  n: number;
}

// The device is [A-Za-z0-9_-]+ (no dot), so the extension starts at the first dot after it.
// A trailing -<n> (n >= 2) is read as the counter this module adds, not as the device.
const COPY = /^(.*)\.sync-conflict-(\d{8}-\d{6})-([A-Za-z0-9_-]+?)(?:-([2-9]|[1-9]\d{1,3}))?(\.[^/]*)?$/;

/** What a conflict-copy name says, or null for any other path. */
export function parseConflictCopy(path: string): ParsedCopy | null {
  const slash = path.lastIndexOf('/');
  const dir = slash >= 0 ? path.slice(0, slash + 1) : '';
  const m = COPY.exec(path.slice(slash + 1));
  if (!m?.[1]) return null;
  const [, stem, stamp, device, n, ext] = m;
  return { original: originalOf(`${dir}${stem}${ext ?? ''}`), stamp: stamp!, device: device!, n: n ? Number(n) : 1 };
}

/** The file a (possibly nested, from older versions) conflict copy belongs to. */
export function originalOf(path: string): string {
  for (let i = 0; i < 16; i++) {
    const slash = path.lastIndexOf('/');
    const m = COPY.exec(path.slice(slash + 1));
    if (!m?.[1]) return path;
    path = `${path.slice(0, slash + 1)}${m[1]}${m[5] ?? ''}`;
  }
  return path;
}
