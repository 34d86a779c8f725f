/**
 * results/<id>.json: the outcome of each request, for callers that `--wait`. Pruned by age.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

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
  await Promise.all(
    names.map(async (n) => {
      const p = join(dir, n);
      try {
        if (now - (await fs.stat(p)).mtimeMs > maxAgeMs) await fs.rm(p, { force: true });
      } catch {
        /* gone */
      }
    }),
  );
}
