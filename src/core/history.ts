/**
 * history.jsonl in the workspace's state directory: one JSON line per sync that ran
 * (op id, type, callers, result, message, start and end, the duration of each step,
 * HEAD before and after), for `GET /api/v1/workspaces/{id}/history` and the dashboard.
 *
 * Written by the processor under the workspace lock, so lines never interleave; bounded
 * to the newest KEEP records by an atomic rewrite once it grows a tenth past that.
 * Recording costs no git process (HEAD is read from git's files): the files a sync
 * changed are the diff of its two HEADs, computed when someone reads the history. A
 * record that cannot be written is logged and dropped: history never fails a sync.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';
import type { Priority, SyncType } from '../shared/config.js';
import type { RequestResult } from './results.js';
import type { Workspace } from '../git/workspace.js';
import { readRef } from '../git/refs.js';
import type { Logger } from '../shared/log.js';

export const HISTORY_KEEP = 500;
/** Below this size the file is not worth counting (KEEP records are about 150 KB). */
const TRIM_CHECK_BYTES = 256 * 1024;

export interface StepTiming {
  step: string;
  started_at: string;
  duration_ms: number;
}

export interface HistoryRecord {
  op: string;
  type: SyncType;
  priority: Priority;
  /** Who asked: the distinct callers of the requests it served (trigger names such as watcher, sync-now, daemon:pull). */
  callers: string[];
  requests: number;
  result: RequestResult | 'refused';
  message: string;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  steps: StepTiming[];
  head_before: string | null;
  head_after: string | null;
}

export function historyPath(ws: Workspace): string {
  return join(ws.paths.dir, 'history.jsonl');
}

/**
 * Collects one sync's step times (from the pipeline's step callback) and writes its
 * record when it ends. HEAD is read from git's files at the first step: no process.
 */
export type HistoryRecorder = ReturnType<typeof historyRecorder>;

export function historyRecorder(ws: Workspace, clock: () => number = Date.now) {
  const started = clock();
  const steps: Array<{ step: string; at: number }> = [];
  let headBefore: Promise<string | null> | null = null;
  return {
    step(name: string): void {
      steps.push({ step: name, at: clock() });
      headBefore ??= readHead(ws).catch(() => null);
    },
    async finish(
      f: {
        op: string;
        type: SyncType;
        priority: Priority;
        batch: ReadonlyArray<{ request: { caller: string } }>;
        result: RequestResult | 'refused';
        message: string;
      },
      logger: Logger,
    ): Promise<void> {
      try {
        const end = clock();
        const before = headBefore === null ? null : await headBefore;
        const after = await readHead(ws).catch(() => null);
        const record: HistoryRecord = {
          op: f.op,
          type: f.type,
          priority: f.priority,
          callers: [...new Set(f.batch.map((e) => e.request.caller))].slice(0, 20),
          requests: f.batch.length,
          result: f.result,
          message: f.message.slice(0, 1000),
          started_at: new Date(started).toISOString(),
          finished_at: new Date(end).toISOString(),
          duration_ms: end - started,
          steps: steps.map((s, i) => ({ step: s.step, started_at: new Date(s.at).toISOString(), duration_ms: (steps[i + 1]?.at ?? end) - s.at })),
          head_before: before,
          head_after: after,
        };
        await appendHistory(historyPath(ws), record);
      } catch (e) {
        logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not record the sync in history.jsonl');
      }
    },
  };
}

/** Append one record; a tenth past `keep` lines, rewrite the file atomically with the newest `keep`. */
export async function appendHistory(file: string, record: HistoryRecord, keep = HISTORY_KEEP, checkBytes = TRIM_CHECK_BYTES): Promise<void> {
  await fs.appendFile(file, JSON.stringify(record) + '\n');
  if ((await fs.stat(file)).size < checkBytes) return;
  const text = await fs.readFile(file, 'utf8');
  const lines = text.split('\n').filter(Boolean);
  if (lines.length > keep + Math.ceil(keep / 10)) await writeFileAtomic(file, lines.slice(-keep).join('\n') + '\n');
}

/** The newest `limit` records, newest first; torn or foreign lines are skipped. */
export async function readHistory(file: string, limit: number): Promise<HistoryRecord[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const out: HistoryRecord[] = [];
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as HistoryRecord;
      if (r && typeof r === 'object' && typeof r.op === 'string') out.push(r);
    } catch {
      /* a torn last line after a crash */
    }
  }
  return out;
}

async function readHead(ws: Workspace): Promise<string | null> {
  const head = (await fs.readFile(join(ws.gitDir, 'HEAD'), 'utf8')).trim();
  if (!head.startsWith('ref: ')) return /^[0-9a-f]{40,64}$/.test(head) ? head : null;
  return readRef(ws.commonDir, head.slice(5));
}
