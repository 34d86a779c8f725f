/**
 * The daemon's directory watches: the queue directory (a request file appearing wakes
 * the loop at once instead of at the next process_interval_s) and, when config reload
 * is on, the state directory (config.json changing). fs.watch on a directory breaks
 * when the directory is replaced or removed (`git clean -fdx`), so ensure() re-creates
 * a watch whose directory changed inode or whose watcher failed; the removal itself
 * asks for housekeeping at once, which restores the state directory.
 *
 * Events are debounced a few ms: one burst of writes is one wake-up.
 */
import { watch as fsWatch, existsSync, promises as fs, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../shared/log.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import { errText } from './err-text.js';

export const QUEUE_DEBOUNCE_MS = 15;

export interface SpoolWatch {
  /** Start or re-create the watches (each housekeeping). */
  ensure(): Promise<void>;
  close(): void;
}

export function createSpoolWatch(o: {
  queueDir: string;
  /** config.json; null: not watched (no reload). */
  configFile: string | null;
  clock: Clock;
  log: Logger;
  /** Wake the loop. */
  poke: () => void;
  /** A watched directory went away: housekeeping at the next cycle restores it. */
  housekeepingSoon: () => void;
  /** False once the loop is stopping: a late event wakes nothing. */
  active: () => boolean;
}): SpoolWatch {
  const { clock, log } = o;
  let pokeTimer: TimerHandle | null = null;
  const pokeSoon = () => {
    if (pokeTimer !== null) return;
    pokeTimer = clock.setTimeout(() => {
      pokeTimer = null;
      if (o.active()) o.poke();
    }, QUEUE_DEBOUNCE_MS);
  };
  const onGone = () => {
    o.housekeepingSoon();
    pokeSoon();
  };
  const queueWatch = dirWatch(o.queueDir, 'the queue directory', 'requests are served every process_interval_s', (n) => {
    if (n !== null && (!n.endsWith('.json') || n.startsWith('.'))) return;
    if (n !== null && !existsSync(join(o.queueDir, n))) return; // a served request going away
    pokeSoon();
  });
  const configFile = o.configFile;
  const configName = configFile ? basename(configFile) : null;
  const configWatch = configFile
    ? dirWatch(dirname(configFile), 'the state directory', 'config.json changes are noticed every process_interval_s', (n) => {
        if (n === null || n === configName) pokeSoon();
      })
    : null;

  /** fs.watch on a directory, re-created by ensure() when it broke or the directory was replaced. */
  function dirWatch(dir: string, what: string, fallback: string, onName: (name: string | null) => void) {
    let current: { close(): void; ino: number; broken: boolean } | null = null;
    return {
      async ensure(): Promise<void> {
        let ino: number;
        try {
          ino = (await fs.stat(dir)).ino;
        } catch {
          return;
        }
        if (current && !current.broken && current.ino === ino) return;
        current?.close();
        let w: FSWatcher;
        try {
          w = fsWatch(dir, { persistent: true }, (_event, name) => {
            // The directory itself went away: restore the state directory now rather
            // than at the next process_interval_s.
            if (!existsSync(dir)) return onGone();
            onName(name === null ? null : String(name));
          });
        } catch (e) {
          log.warn({ err: errText(e) }, `cannot watch ${what}; ${fallback}`);
          current = null;
          return;
        }
        const handle = { close: () => w.close(), ino, broken: false };
        w.on('error', (e) => {
          log.warn({ err: errText(e) }, `watch of ${what} failed; re-creating it next cycle`);
          handle.broken = true;
          w.close();
          o.poke();
        });
        current = handle;
      },
      close(): void {
        current?.close();
        current = null;
      },
    };
  }

  return {
    async ensure() {
      await queueWatch.ensure();
      await configWatch?.ensure();
    },
    close() {
      if (pokeTimer !== null) clock.clearTimeout(pokeTimer);
      pokeTimer = null;
      queueWatch.close();
      configWatch?.close();
    },
  };
}
