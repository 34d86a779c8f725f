/**
 * Reading a workspace's logs, for `daemon logs` and the dashboard's log tail alike (so
 * both show the same lines): the last lines of daemon.log and coordinator.log (with their
 * rotated predecessors), merged by time, printed raw (`--json`) or readable through pino-pretty;
 * `-f` follows both files and survives rotation (a new inode or a shrunk file is
 * reopened from the start, after the rest of the old one is read).
 *
 * Log lines carry untrusted strings (callers, reasons, git output): every string value
 * is stripped of control characters before pino-pretty adds its own colours (invariant 11).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { safeValue } from '../shared/sanitize.js';
import type { StatePaths } from '../git/workspace.js';
import { rotatedFiles } from '../shared/log-rotate.js';

/** Where the daemon's logger (daemon/daemon-logger.ts) writes its numbered files: `<state>/logs/daemon.<n>.log`. */
export const DAEMON_LOG_DIR = 'logs';
export const DAEMON_LOG_BASE = 'daemon';

export interface LogSource {
  name: 'daemon' | 'coordinator';
  /** The live file (followed). */
  file: string;
  /** Older files, oldest first, read only for history. */
  history: () => Promise<string[]>;
}

/** The log files of a workspace, or of the user daemon (its state directory holds the same names). */
export type LogPaths = Pick<StatePaths, 'dir' | 'daemonLog' | 'coordinatorLog'>;

export function logSources(paths: LogPaths): LogSource[] {
  return [
    { name: 'daemon', file: paths.daemonLog, history: () => daemonHistory(paths) },
    { name: 'coordinator', file: paths.coordinatorLog, history: async () => (await rotatedFiles(paths.coordinatorLog)).reverse() },
  ];
}

/** pino-roll's numbered files except the newest (which daemon.log points to), oldest first. */
async function daemonHistory(paths: LogPaths): Promise<string[]> {
  const dir = join(paths.dir, DAEMON_LOG_DIR);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const re = new RegExp(`^${DAEMON_LOG_BASE}\\.(\\d+)\\.log$`);
  const numbered = names
    .map((n) => ({ n, m: re.exec(n) }))
    .filter((x) => x.m)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map((x) => join(dir, x.n));
  let current: string | null = null;
  try {
    current = await fs.realpath(paths.daemonLog);
  } catch {
    current = null;
  }
  return numbered.filter((f) => f !== current);
}

export interface LogLine {
  time: number;
  text: string;
  source: LogSource['name'];
}

/** The last `n` lines of all sources, oldest first, plus where each live file ended. */
export async function tailLogs(sources: LogSource[], n: number): Promise<{ lines: LogLine[]; ends: Map<string, { ino: number; size: number }> }> {
  const ends = new Map<string, { ino: number; size: number }>();
  const all: LogLine[] = [];
  for (const s of sources) {
    let end: { ino: number; size: number } | null = null;
    try {
      const st = await fs.stat(s.file);
      end = { ino: st.ino, size: st.size };
      ends.set(s.name, end);
    } catch {
      /* absent */
    }
    const files = [...(await s.history()), ...(end ? [s.file] : [])];
    const lines: string[] = [];
    for (let i = files.length - 1; i >= 0 && lines.length < n; i--) {
      const limit = i === files.length - 1 && end ? end.size : undefined;
      lines.unshift(...(await lastLines(files[i]!, n - lines.length, limit)));
    }
    let prev = 0;
    for (const text of lines) {
      const t = lineTime(text) ?? prev;
      prev = t;
      all.push({ time: t, text, source: s.name });
    }
  }
  // Stable: lines of one file keep their order when times tie.
  all.sort((a, b) => a.time - b.time);
  return { lines: all.slice(Math.max(0, all.length - n)), ends };
}

/** The last `n` complete lines of a file (up to `limit` bytes), reading backwards in chunks. */
export async function lastLines(file: string, n: number, limit?: number): Promise<string[]> {
  if (n <= 0) return [];
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = limit ?? (await handle.stat()).size;
    const chunk = 64 * 1024;
    let pos = size;
    let buf = Buffer.alloc(0);
    let newlines = 0;
    // n complete lines need n + 1 newlines unless the file starts with the first of them.
    while (pos > 0 && newlines <= n) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const part = Buffer.alloc(len);
      await handle.read(part, 0, len, pos);
      for (const b of part) if (b === 10) newlines++;
      buf = Buffer.concat([part, buf]);
    }
    const lines = buf.toString('utf8').split('\n');
    lines.pop(); // '' after the last newline, or a partial line still being written
    if (pos > 0) lines.shift(); // cut by the chunk boundary
    return lines.filter((l) => l.trim() !== '').slice(-n);
  } finally {
    await handle.close();
  }
}

function lineTime(text: string): number | null {
  const m = /"time":(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

/** Formatter: raw JSON lines, or pino-pretty (colours only on a TTY). */
export async function createFormatter(opts: { json: boolean; colorize: boolean }): Promise<(line: LogLine) => string> {
  if (opts.json) return (l) => safeValue(l.text);
  const { prettyFactory } = await import('pino-pretty');
  const pretty = prettyFactory({
    colorize: opts.colorize,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'hostname,host,component',
    messageFormat: '{component} | {msg}',
    singleLine: true,
  });
  return (l) => {
    let obj: unknown;
    try {
      obj = JSON.parse(l.text);
    } catch {
      return `${l.source}: ${safeValue(l.text)}`;
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return `${l.source}: ${safeValue(l.text)}`;
    const clean = scrub(obj) as Record<string, unknown>;
    if (!('component' in clean)) clean.component = l.source;
    return pretty(clean).replace(/\n+$/, '');
  };
}

function scrub(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return safeValue(v);
  if (depth > 8 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => scrub(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[safeValue(k)] = scrub(x, depth + 1);
  return out;
}

interface Followed {
  source: LogSource;
  handle: fs.FileHandle | null;
  ino: number | null;
  pos: number;
  partial: string;
}

/**
 * Print new lines as they are written, until `signal` aborts. Polls (cheap, and works on
 * every file system); reopens a file whose inode changed (rotation) or that shrank.
 */
export async function followLogs(
  sources: LogSource[],
  start: Map<string, { ino: number; size: number }>,
  emit: (line: LogLine) => void,
  signal: AbortSignal,
  intervalMs = 250,
): Promise<void> {
  const state: Followed[] = sources.map((s) => {
    const e = start.get(s.name);
    return { source: s, handle: null, ino: e?.ino ?? null, pos: e?.size ?? 0, partial: '' };
  });
  try {
    while (!signal.aborted) {
      for (const f of state) await pollOne(f, emit);
      await sleep(intervalMs, signal);
    }
  } finally {
    for (const f of state) await f.handle?.close().catch(() => {});
  }
}

async function pollOne(f: Followed, emit: (line: LogLine) => void): Promise<void> {
  let st: { ino: number; size: number } | null = null;
  try {
    const s = await fs.stat(f.source.file);
    st = { ino: s.ino, size: s.size };
  } catch {
    st = null;
  }
  if (f.handle && st && st.ino !== f.ino) {
    // Rotated: drain what is left of the old file, then switch.
    await readNew(f, emit);
    await f.handle.close().catch(() => {});
    f.handle = null;
    f.ino = st.ino;
    f.pos = 0;
    f.partial = '';
  }
  if (!st) return;
  if (!f.handle) {
    try {
      f.handle = await fs.open(f.source.file, 'r');
    } catch {
      return;
    }
    const opened = await f.handle.stat();
    if (f.ino !== opened.ino) {
      f.ino = opened.ino;
      f.pos = 0; // a file we have not seen: from its start
    }
  }
  const size = (await f.handle.stat()).size;
  if (size < f.pos) {
    f.pos = 0; // truncated in place
    f.partial = '';
  }
  await readNew(f, emit);
}

async function readNew(f: Followed, emit: (line: LogLine) => void): Promise<void> {
  if (!f.handle) return;
  for (;;) {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await f.handle.read(buf, 0, buf.length, f.pos);
    if (bytesRead === 0) return;
    f.pos += bytesRead;
    const text = f.partial + buf.subarray(0, bytesRead).toString('utf8');
    const parts = text.split('\n');
    f.partial = parts.pop() ?? '';
    for (const p of parts) if (p.trim() !== '') emit({ time: lineTime(p) ?? Date.now(), text: p, source: f.source.name });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
