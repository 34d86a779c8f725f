/**
 * The second, asynchronous ignore check. The synchronous predicate only knows what git
 * ignored when the snapshot was taken; a file created since (a new `debug.log`, a
 * `dist/` from a build) passes it. Events are therefore batched and put to
 * `git check-ignore` before they count as changes: one git process per batch, at most
 * one in flight, however many events arrive.
 */

export interface RecheckOptions {
  /** Returns the subset of paths git ignores. */
  check: (paths: string[]) => Promise<Set<string>>;
  /** A path git does not ignore. */
  accept: (relPath: string, isDir: boolean) => void;
  /** A path git ignores, to be added to the snapshot so later events skip git. */
  ignored: (relPath: string, isDir: boolean) => void;
  onError: (err: unknown) => void;
}

export interface Recheck {
  push(relPath: string, isDir: boolean): void;
  queued(): number;
  /** Resolves when nothing is queued or being checked. */
  idle(): Promise<void>;
  /** Drops what is queued; a batch being checked finishes without effect. */
  close(): Promise<void>;
}

export function createRecheck(opts: RecheckOptions): Recheck {
  let queue = new Map<string, boolean>();
  let draining: Promise<void> | null = null;
  let closed = false;

  async function drain(): Promise<void> {
    // Let the rest of this tick's events join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (queue.size > 0 && !closed) {
      const batch = queue;
      queue = new Map();
      let ignored: Set<string>;
      try {
        ignored = await opts.check([...batch.keys()]);
      } catch (err) {
        // Fail open: a spurious change only costs a `git status`; a dropped one loses data.
        opts.onError(err);
        ignored = new Set();
      }
      if (closed) return;
      for (const [path, isDir] of batch) {
        if (ignored.has(path)) opts.ignored(path, isDir);
        else opts.accept(path, isDir);
      }
    }
  }

  return {
    push(relPath, isDir) {
      if (closed) return;
      queue.set(relPath, isDir || (queue.get(relPath) ?? false));
      draining ??= drain().finally(() => {
        draining = null;
      });
    },
    queued: () => queue.size,
    idle: async () => {
      while (draining !== null) await draining;
    },
    async close() {
      closed = true;
      queue.clear();
      await draining;
    },
  };
}
