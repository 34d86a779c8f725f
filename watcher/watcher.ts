/**
 * The file watcher: workspace changes in, at most one `onQuiet` per quiet period out.
 *
 * Pipeline: chokidar event → synchronous ignore predicate (src/git/ignore.ts) → batched
 * `git check-ignore` (recheck.ts) → quiet period (debounce.ts) → `git status` confirms
 * the tree differs from HEAD → `onQuiet`. The last step is what keeps our own sync from
 * re-triggering itself: its checkout/rebase writes files but leaves the tree clean.
 *
 * When the kernel runs out of inotify watches, native watching is abandoned for
 * periodic `git status` (status-poller.ts); the watcher never throws after start.
 */
import { once } from 'node:events';
import { lstatSync, readdirSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FSWatcher, watch, type ChokidarOptions } from 'chokidar';
import { systemClock, type Clock } from '../src/shared/clock.js';
import { createDebouncer, type Burst } from './debounce.js';
import { createReadGit } from './git-read.js';
import { checkIgnored, listGitIgnored, statusEntries } from './git-queries.js';
import { createIgnoreFilter, type GitIgnored } from '../src/git/ignore.js';
import type { WatcherState, WatchMode } from '../src/core/watcher-state.js';
import { createRecheck } from './recheck.js';
import { startStatusPoller, type StatusPoller } from './status-poller.js';

export interface WatcherLogger {
  debug(o: object, m?: string): void;
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
}

export interface WatcherOptions {
  root: string; // absolute worktree root
  stateDirRel: string; // '.claude/sync-coordination'
  debounceMs: number;
  maxWaitMs: number;
  ignore: string[]; // config watch.ignore globs
  logger: WatcherLogger;
  /** Called once per quiet period, only if `git status` confirms the tree differs from HEAD (so our own sync's checkout/rebase writes, which leave the tree clean, never re-trigger). */
  onQuiet: (info: { changes: number; paths: string[]; firstAt: number; lastAt: number }) => Promise<void> | void;
  usePolling?: boolean;
}

export interface RunningWatcher {
  close(): Promise<void>;
  state(): WatcherState;
  /** Resolves once the initial scan is done (or the fallback took over, or close()); never rejects. */
  ready: Promise<void>;
}

/** Seams for tests; production callers pass nothing. */
export interface WatcherDeps {
  watch?: (root: string, options: ChokidarOptions) => FSWatcher;
  /** Environment the git allowlist is read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
}

export const INOTIFY_FIX = 'echo fs.inotify.max_user_watches=524288 | sudo tee -a /etc/sysctl.conf && sudo sysctl -p';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * chokidar's close() removes every listener, ours for 'error' included, yet a watch
 * operation still in flight can report an error afterwards; an 'error' with no listener
 * throws and would take the daemon down.
 */
function closeQuietly(w: FSWatcher): Promise<void> {
  const closing = w.close();
  w.on('error', () => {});
  return closing;
}

/**
 * chokidar lists every directory it watches (at start, and again after each event in
 * it) with an lstat per entry, 256 entries at a time per directory and all directories
 * at once: at start with 10,000 files, ~10,000 fs requests in flight. The allocator
 * keeps their native memory after they are freed (fragmented): most of the daemon's
 * idle RSS at 10,000 files (README, benchmarks: daemon footprint), for stats
 * that only tell our `ignored` a file from a directory. readdir's file types tell
 * that as well (node lstats on its own where the file system reports no type), so the
 * listings skip the stats. Only for native watching, which ignores every
 * non-directory: polling watches files, and chokidar reads their mode from the stats.
 * `_readdirp` is public in chokidar's typings; the ~5.0.0 pin keeps it stable.
 */
class DirectoryWatcher extends FSWatcher {
  override _readdirp(root: string, opts: Parameters<FSWatcher['_readdirp']>[1] = {}): ReturnType<FSWatcher['_readdirp']> {
    type Filter = NonNullable<typeof opts.fileFilter>;
    const withDirentStats = (filter: Filter | undefined): Filter | undefined =>
      typeof filter === 'function'
        ? (entry) => {
            // A Dirent answers isDirectory/isFile/isSymbolicLink like Stats, all chokidar asks of it here.
            entry.stats ??= entry.dirent as unknown as NonNullable<typeof entry.stats>;
            return filter(entry);
          }
        : filter;
    return super._readdirp(root, {
      ...opts,
      alwaysStat: false,
      fileFilter: withDirentStats(opts.fileFilter),
      directoryFilter: withDirentStats(opts.directoryFilter),
    });
  }
}

/** chokidar's `watch()` with listings read as above; exported for its test. */
export function watchDirectories(root: string, options: ChokidarOptions): FSWatcher {
  const w = new DirectoryWatcher(options);
  w.add(root);
  return w;
}

export function startWatcher(opts: WatcherOptions, deps: WatcherDeps = {}): RunningWatcher {
  const { root, logger: log } = opts;
  const clock = deps.clock ?? systemClock;
  const git = createReadGit(root, deps.env);
  const filter = createIgnoreFilter({ root, stateDirRel: opts.stateDirRel, globs: opts.ignore });
  // git status already applies git's ignore rules (and knows about force-added files the
  // snapshot may not), so paths it reports are judged by our own rules only.
  const configOnly = createIgnoreFilter({ root, stateDirRel: opts.stateDirRel, globs: opts.ignore });
  const pollIntervalMs = Math.max(opts.debounceMs, 2000);

  let mode: WatchMode = opts.usePolling ? 'polling' : 'native';
  let watching = false;
  let closed = false;
  let error: string | null = null;
  let lastEventAt: number | null = null;
  let lastFireAt: number | null = null;
  let fsw: FSWatcher | null = null;
  let poller: StatusPoller | null = null;
  const background = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    background.add(p);
    void p.finally(() => background.delete(p));
  };

  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));

  const debouncer = createDebouncer({
    debounceMs: opts.debounceMs,
    maxWaitMs: opts.maxWaitMs,
    clock,
    fire: onBurst,
    onError: (err) => {
      error = `onQuiet failed: ${errorText(err)}`;
      log.error({ err }, 'watcher: quiet-period handler failed; the next change triggers again');
    },
  });

  const recheck = createRecheck({
    check: (paths) => checkIgnored(git, paths),
    // Directory events are checked only to learn which new directories git ignores; a
    // directory by itself is never a change to git, and its files bring their own events.
    accept: (path, isDir) => {
      if (!isDir) debouncer.notify(path);
      else {
        // Files made in a new directory before its watcher was attached have no events
        // of their own (chokidar watches directories only): the directory stands for them.
        const file = firstFileIn(path);
        if (file) debouncer.notify(file);
      }
    },
    ignored: (path, isDir) => filter.addGitIgnored(path, isDir),
    onError: (err) => log.warn({ err }, 'watcher: git check-ignore failed; counting the events as changes'),
  });

  async function onBurst(burst: Burst): Promise<void> {
    let dirty: number;
    try {
      dirty = (await statusEntries(git)).filter((e) => !configOnly.ignoresRelative(e.path)).length;
    } catch (err) {
      // Fail open: the sync that onQuiet requests will report what is wrong with the
      // repository far more visibly than a line in the watcher's log, and a real change
      // is never dropped because a probe failed.
      error = `git status failed: ${errorText(err)}`;
      log.warn({ err }, 'watcher: cannot confirm the change with git status; requesting a sync anyway');
      dirty = -1;
    }
    if (dirty === 0) {
      log.debug({ changes: burst.changes, paths: burst.paths.slice(0, 5) }, 'watcher: changes settled but the tree matches HEAD; nothing to sync');
      return;
    }
    lastFireAt = clock.now();
    log.info({ changes: burst.changes, paths: burst.paths.slice(0, 5), dirty }, 'watcher: changes settled');
    await opts.onQuiet({ changes: burst.changes, paths: burst.paths, firstAt: burst.firstAt, lastAt: burst.lastAt });
  }

  function onEvent(event: string, absPath: string): void {
    if (closed) return;
    const rel = filter.toRelative(absPath);
    // Checked again here: chokidar does not re-ask `ignored` for paths it already
    // watches, and the snapshot may have grown since it started watching them.
    if (rel === null || rel === '' || filter.ignoresRelative(rel)) return;
    lastEventAt = clock.now();
    if (basename(rel) === '.gitignore') scheduleRefresh();
    recheck.push(rel, event === 'addDir' || event === 'unlinkDir');
  }

  let refreshing: Promise<void> | null = null;
  let refreshAgain = false;
  function scheduleRefresh(): void {
    if (refreshing !== null) {
      refreshAgain = true;
      return;
    }
    refreshing = (async () => {
      do {
        refreshAgain = false;
        await refreshIgnored();
      } while (refreshAgain && !closed);
    })().finally(() => (refreshing = null));
    track(refreshing);
  }

  async function refreshIgnored(): Promise<void> {
    let next: GitIgnored;
    try {
      next = await listGitIgnored(git);
    } catch (err) {
      error = `cannot list git-ignored paths: ${errorText(err)}`;
      log.warn({ err }, 'watcher: cannot ask git which paths it ignores; only .git, the state dir and watch.ignore are ignored');
      return;
    }
    if (closed) return;
    const before = filter.gitIgnored();
    filter.setGitIgnored(next);
    // chokidar never entered a directory git used to ignore; it must be added by hand
    // now that it counts. (Files are picked up by their parent directory's watcher.)
    const w = fsw;
    if (!w) return;
    const revived: string[] = [];
    for (const dir of before.dirs) {
      if (filter.ignoresRelative(dir)) continue;
      const abs = join(root, dir);
      if (
        await lstat(abs).then(
          (s) => s.isDirectory(),
          () => false,
        )
      )
        revived.push(abs);
    }
    if (revived.length > 0 && fsw === w && !closed) w.add(revived);
  }

  function onWatchError(w: FSWatcher, err: unknown): void {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (code === 'ENOSPC' || code === 'EMFILE') {
      fallBackToGitStatus(w, code);
      return;
    }
    error = `watch error: ${errorText(err)}`;
    log.warn({ err }, 'watcher: file watching error (still watching)');
  }

  function fallBackToGitStatus(w: FSWatcher, code: string): void {
    // chokidar reports one error per directory it fails to watch: act on the first.
    if (closed || fsw !== w) return;
    fsw = null;
    mode = 'git-status';
    error = `${code}: native file watching unavailable, polling git status`;
    const extra = code === 'EMFILE' ? ' (EMFILE can also mean fs.inotify.max_user_instances or `ulimit -n` is too low)' : '';
    log.warn(
      { code, poll_ms: pollIntervalMs },
      `watcher: the system ran out of inotify watches (${code}); falling back to checking git status every ${pollIntervalMs / 1000}s. ` +
        `Fix: ${INOTIFY_FIX}${extra}`,
    );
    track(closeQuietly(w).catch((e: unknown) => log.debug({ err: e }, 'watcher: closing the failed native watcher')));
    let failing = false;
    poller = startStatusPoller({
      root,
      intervalMs: pollIntervalMs,
      status: () => statusEntries(git),
      onChanges: (paths) => {
        failing = false;
        const kept = paths.filter((p) => !configOnly.ignoresRelative(p));
        if (kept.length > 0) lastEventAt = clock.now();
        for (const p of kept) debouncer.notify(p);
      },
      onError: (err) => {
        // Once per outage, not once per poll.
        if (!failing) log.warn({ err }, 'watcher: git status failed while polling; retrying');
        failing = true;
      },
    });
    watching = true;
    resolveReady();
  }

  function firstFileIn(rel: string): string | null {
    try {
      for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
        const child = `${rel}/${e.name}`;
        if (!e.isDirectory() && !filter.ignoresRelative(child)) return child;
      }
    } catch {
      /* gone again */
    }
    return null;
  }

  function isDirectorySync(abs: string): boolean {
    try {
      return lstatSync(abs).isDirectory();
    } catch {
      return false; // gone: a deletion, which is a change
    }
  }

  function startChokidar(): void {
    const polling = opts.usePolling ?? false;
    const options: ChokidarOptions = {
      ignoreInitial: true,
      followSymlinks: false,
      usePolling: polling,
      // No awaitWriteFinish: the repo-level quiet period already waits for writes to
      // settle. `atomic` stays at chokidar's default so a temp-then-rename save is one change.
      //
      // Natively, chokidar watches directories only: a directory's inotify watch already
      // reports every change to the files in it (chokidar's 'raw' events, below), and we
      // need one repo-level "something changed" signal, not per-file events. chokidar's
      // default of one fs.watch per file costs an inotify watch and ~5 KB of memory per
      // file (10,000 files: 160 MB RSS, and ENOSPC on Linux's default 8,192 watches).
      // Polling has no directory events, so it keeps the per-file watchers.
      ignored: polling
        ? (path, stats) => filter.ignoresAbsolute(path, stats)
        : (path, stats) => filter.ignoresAbsolute(path, stats) || (stats !== undefined && !stats.isDirectory()),
    };
    const w = (deps.watch ?? (polling ? watch : watchDirectories))(root, options);
    fsw = w;
    w.on('error', (err) => onWatchError(w, err));
    w.on('all', (event, path) => onEvent(event, path));
    if (!polling) {
      w.on('raw', (_event, name, details) => {
        const dir = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
        // A file's name inside a watched directory; events without one say nothing useful.
        if (typeof dir !== 'string' || !name) return;
        const abs = join(dir, name);
        // A subdirectory is no change to git by itself: chokidar reports it as addDir and
        // its files bring their own events.
        if (isDirectorySync(abs)) return;
        onEvent('change', abs);
      });
    }
    w.once('ready', () => {
      if (fsw === w && !closed) {
        watching = true;
        log.debug({ root, mode }, 'watcher: initial scan done');
      }
      resolveReady();
    });
  }

  const started = (async () => {
    await refreshIgnored();
    if (closed) return;
    try {
      startChokidar();
    } catch (err) {
      // chokidar reports watch failures through 'error'; this is only a guard so that
      // start never throws into the caller's event loop.
      error = `cannot start watching: ${errorText(err)}`;
      log.error({ err }, 'watcher: cannot start watching');
      resolveReady();
    }
  })();
  track(started);

  let closing: Promise<void> | null = null;
  return {
    ready,
    state: () => ({
      mode,
      watching,
      pending: debouncer.pending() + recheck.queued(),
      lastEventAt: lastEventAt === null ? null : new Date(lastEventAt).toISOString(),
      lastFireAt: lastFireAt === null ? null : new Date(lastFireAt).toISOString(),
      error,
    }),
    close() {
      closing ??= (async () => {
        closed = true;
        watching = false;
        const w = fsw;
        fsw = null;
        await Promise.allSettled([w && closeQuietly(w), poller?.close(), recheck.close(), ...background]);
        // Waits for an onQuiet that is already running; pending changes are dropped (the
        // daemon's periodic git status check covers them).
        await debouncer.close();
        resolveReady();
      })();
      return closing;
    },
  };
}

/**
 * `sync-coordinator watch` minus the CLI: watch until told to stop. The caller owns the
 * signal (SIGINT/SIGTERM, or the daemon's shutdown) and the `onQuiet` that enqueues an
 * `intelligent-auto` request.
 */
export async function runWatch(opts: WatcherOptions & { signal: AbortSignal }, deps: WatcherDeps = {}): Promise<void> {
  const { signal, ...watcherOpts } = opts;
  if (signal.aborted) return;
  const watcher = startWatcher(watcherOpts, deps);
  opts.logger.info({ root: opts.root, mode: watcher.state().mode }, `watching ${opts.root}`);
  try {
    if (!signal.aborted) await once(signal, 'abort');
  } finally {
    // close() waits for a running onQuiet, so a request being enqueued is not cut off.
    await watcher.close();
  }
  opts.logger.info({ root: opts.root }, 'watcher stopped');
}
