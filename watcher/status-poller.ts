/**
 * The fallback when native watching is impossible (inotify watches or instances
 * exhausted): ask `git status` every interval and report what changed since the last
 * look. Comparing status lines alone would miss a second edit to an already-modified
 * file (' M a' stays ' M a' while a sync committed the first edit and the user wrote
 * again), so each dirty path's size and mtime are part of its signature.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';

export interface PolledEntry {
  xy: string;
  path: string;
}

export interface StatusPollerOptions {
  root: string;
  intervalMs: number;
  status: () => Promise<PolledEntry[]>;
  /** Paths that changed since the previous poll (on the first poll: every dirty path). */
  onChanges: (paths: string[]) => void;
  onError: (err: unknown) => void;
}

export interface StatusPoller {
  close(): Promise<void>;
}

/** Beyond this many dirty paths, only status lines are compared (no stat per path). */
const MAX_STATS = 5000;

export function startStatusPoller(opts: StatusPollerOptions): StatusPoller {
  let previous = new Map<string, string>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> | null = null;
  let closed = false;

  async function signatures(entries: PolledEntry[]): Promise<Map<string, string>> {
    const sigs = new Map<string, string>();
    const withStats = entries.length <= MAX_STATS;
    await Promise.all(
      entries.map(async ({ xy, path }) => {
        let sig = xy;
        if (withStats) {
          try {
            const st = await lstat(join(opts.root, path));
            sig += `:${st.size}:${st.mtimeMs}`;
          } catch {
            sig += ':gone';
          }
        }
        sigs.set(path, sig);
      }),
    );
    return sigs;
  }

  async function poll(): Promise<void> {
    try {
      const current = await signatures(await opts.status());
      if (closed) return;
      const changed = [...current].filter(([path, sig]) => previous.get(path) !== sig).map(([path]) => path);
      previous = current;
      if (changed.length > 0) opts.onChanges(changed);
    } catch (err) {
      opts.onError(err);
    }
  }

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => {
      timer = null;
      running = poll().finally(() => {
        running = null;
        schedule();
      });
    }, opts.intervalMs);
  };

  // First look at once: events may have been lost while native watching failed.
  running = poll().finally(() => {
    running = null;
    schedule();
  });

  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
