/**
 * The spool: one JSON file per pending request in `queue/` (DESIGN.md section 2).
 * Producers never take the lock: they write `.tmp-<id>` (O_EXCL), fsync, and rename to
 * `<id>.json`, so a reader only ever sees complete requests (maildir's rule). Only the
 * lock holder reads a batch and deletes what it served, so a kill at any moment leaves
 * every accepted request in the spool (invariant 2). Ids sort by creation time.
 *
 * The hooks write the same format from sh (hooks/post-merge.sh); keep them in step.
 * The hook publishes with a hard link instead of a rename (a faster process to start),
 * so its `.tmp-<id>` stays beside the request until the request is removed.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncDir, quarantine, writeFileAtomic } from '../shared/atomic-file.js';
import { requestFromJson, type SyncRequest } from './request.js';
import type { Logger } from '../shared/log.js';

export function newRequestId(now = Date.now()): string {
  return `${now.toString().padStart(13, '0')}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * `durable: false` skips both fsyncs, for a caller that processes the request itself
 * before it reports anything (sync-now): if the machine loses power first, the caller
 * never said "done", so nothing promised is lost. The rename keeps it atomic either way.
 */
export async function enqueue(queueDir: string, req: SyncRequest, opts: { durable?: boolean } = {}): Promise<string> {
  const durable = opts.durable !== false;
  const file = join(queueDir, `${req.id}.json`);
  const tmp = join(queueDir, `.tmp-${req.id}`);
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(req) + '\n', 'utf8');
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  if (durable) await fsyncDir(queueDir);
  return file;
}

export interface QueueEntry {
  file: string;
  request: SyncRequest;
}

/** All complete requests, oldest first. Corrupt files are moved aside, never fatal. */
export async function readQueue(queueDir: string, logger: Logger | null): Promise<QueueEntry[]> {
  let names: string[];
  try {
    names = await fs.readdir(queueDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  names = names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  const out: QueueEntry[] = [];
  for (const name of names) {
    const file = join(queueDir, name);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue; // served and deleted meanwhile
    }
    let req: SyncRequest | null = null;
    try {
      req = requestFromJson(JSON.parse(text));
    } catch {
      req = null;
    }
    if (!req) {
      const moved = await quarantine(file);
      logger?.warn({ file, moved_to: moved }, 'corrupt queue file moved aside');
      continue;
    }
    out.push({ file, request: req });
  }
  return out;
}

export async function countQueue(queueDir: string): Promise<number> {
  try {
    return (await fs.readdir(queueDir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).length;
  } catch {
    return 0;
  }
}

export async function removeEntries(entries: QueueEntry[]): Promise<void> {
  await Promise.all(
    entries.flatMap((e) => [
      fs.rm(e.file, { force: true }),
      // The post-merge hook publishes with a hard link: its `.tmp-<id>` twin goes too.
      fs.rm(join(dirname(e.file), `.tmp-${basename(e.file, '.json')}`), { force: true }),
    ]),
  );
}

/** Rewrite a request in place (e.g. to mark it deferred); atomic. */
export async function rewriteEntry(entry: QueueEntry): Promise<void> {
  await writeFileAtomic(entry.file, JSON.stringify(entry.request) + '\n', { fsyncDir: false });
}

/** Temp files of producers killed before their rename: harmless, swept after an hour. */
export async function sweepTemp(queueDir: string, maxAgeMs = 3_600_000): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(queueDir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const n of names.filter((x) => x.startsWith('.tmp-'))) {
    const p = join(queueDir, n);
    try {
      if (now - (await fs.stat(p)).mtimeMs > maxAgeMs) await fs.rm(p, { force: true });
    } catch {
      /* gone */
    }
  }
}
