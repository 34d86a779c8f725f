/**
 * The request queue: how many requests wait, how many the rate limit deferred, and
 * whether the oldest one has waited so long that nothing seems to process the queue.
 * Read-only (unlike readQueue, which moves corrupt files aside: the doctor changes
 * nothing); an unreadable spool file is reported, and the next sync moves it aside.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { admission } from '../core/admission.js';
import { requestFromJson, type SyncRequest } from '../core/request.js';
import { ok, warn, type CheckResult } from './types.js';

const NAME = 'queue';
export const STUCK_AFTER_MS = 10 * 60_000;

export interface QueueFacts {
  requests: SyncRequest[];
  unreadable: number;
}

export async function readQueueFacts(queueDir: string): Promise<QueueFacts> {
  let names: string[];
  try {
    names = (await fs.readdir(queueDir)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    return { requests: [], unreadable: 0 };
  }
  const requests: SyncRequest[] = [];
  let unreadable = 0;
  for (const name of names) {
    let text: string;
    try {
      text = await fs.readFile(join(queueDir, name), 'utf8');
    } catch {
      continue; // served meanwhile
    }
    let req: SyncRequest | null = null;
    try {
      req = requestFromJson(JSON.parse(text));
    } catch {
      req = null;
    }
    if (req) requests.push(req);
    else unreadable++;
  }
  return { requests, unreadable };
}

export function judgeQueue(f: QueueFacts, daemonRunning: boolean, now = Date.now()): CheckResult {
  const pending = f.requests.filter((r) => admission(r, now) !== 'rejected');
  const deferred = pending.filter((r) => admission(r, now) === 'deferred');
  const waiting = pending.filter((r) => admission(r, now) === 'due');
  const parts = [`${pending.length} pending`];
  if (deferred.length) parts.push(`${deferred.length} deferred by the rate limit`);
  if (f.unreadable) parts.push(`${f.unreadable} unreadable (the next sync moves ${f.unreadable === 1 ? 'it' : 'them'} aside)`);
  const oldest = waiting
    .map((r) => Date.parse(r.created_at))
    .filter((t) => !Number.isNaN(t))
    .sort((a, b) => a - b)[0];
  if (oldest !== undefined && now - oldest > STUCK_AFTER_MS) {
    const min = Math.round((now - oldest) / 60_000);
    return warn(
      NAME,
      `${parts.join(', ')}; the oldest has waited ${min} min`,
      daemonRunning ? 'sync-coordinator process  (and see "sync-coordinator daemon logs")' : 'sync-coordinator process, or sync-coordinator daemon start',
    );
  }
  if (f.unreadable) return warn(NAME, parts.join(', '), 'sync-coordinator process');
  return ok(NAME, parts.join(', '));
}
