/**
 * results/<id>.json: the outcome of each request, for callers that `--wait`. Pruned by age.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';

export type RequestStatus = 'queued' | 'merged' | 'deferred' | 'rejected' | 'processed';
export type RequestResult = 'ok' | 'noop' | 'failed' | 'conflict';

export interface RequestOutcome {
  id: string;
  status: RequestStatus;
  result: RequestResult | null;
  op: string | null;
  message: string;
  exit_code: number;
  finished_at: string;
  resets_at?: string | null;
}

export async function writeResult(dir: string, outcome: RequestOutcome): Promise<void> {
  await writeFileAtomic(join(dir, `${outcome.id}.json`), JSON.stringify(outcome) + '\n', { fsyncDir: false });
}

export async function readResult(dir: string, id: string): Promise<RequestOutcome | null> {
  try {
    return JSON.parse(await fs.readFile(join(dir, `${id}.json`), 'utf8')) as RequestOutcome;
  } catch {
    return null;
  }
}

export async function pruneResults(dir: string, maxAgeMs = 3_600_000, now = Date.now()): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  // A request id starts with its creation time in ms, and a result is written after
  // its request was made: a result whose request is younger than maxAge is younger
  // too, so only the others are stat'ed (this runs before every sync).
  const candidates = names.filter((n) => {
    const made = Number(/^(\d{13})-/.exec(n)?.[1]);
    return !(now - made <= maxAgeMs);
  });
  await Promise.all(
    candidates.map(async (n) => {
      const p = join(dir, n);
      try {
        if (now - (await fs.stat(p)).mtimeMs > maxAgeMs) await fs.rm(p, { force: true });
      } catch {
        /* gone */
      }
    }),
  );
}
