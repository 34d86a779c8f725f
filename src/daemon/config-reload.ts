/**
 * config.json changes while the daemon runs. Checked every cycle (each process
 * interval, each request, each watch event naming config.json) by the file's stat
 * signature, and parsed only when that changes. The first check always parses, so a
 * change made between the caller's load and the loop's start is not missed.
 *
 * A valid change ends the loop (after the current sync) with reason 'reload' and the
 * new config, and the caller runs the loop again with it, same process and daemon.pid.
 * An invalid one is logged once and shown as config_error; the running config stays.
 */
import { promises as fs } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import type { DaemonState } from '../core/daemon-state.js';
import { errText } from './err-text.js';

export interface ConfigReload {
  check(): Promise<void>;
}

export function createConfigReload(o: {
  file: string;
  running: Config;
  load: () => Promise<Config>;
  /** Writes config_error. */
  state: Pick<DaemonState, 'config_error'>;
  log: Logger;
  /** Called with a valid changed config: end the loop for it. */
  restartWith: (next: Config) => void;
}): ConfigReload {
  const { state, log } = o;
  let seen: string | null = null;
  return {
    async check() {
      const sig = await fs.stat(o.file).then(
        (st) => `${st.ino}:${st.size}:${st.mtimeMs}`,
        (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? 'absent' : `error:${e.code ?? ''}`),
      );
      if (sig === seen) return;
      seen = sig;
      let next: Config;
      try {
        next = await o.load();
      } catch (e) {
        if (state.config_error !== errText(e))
          log.error({ err: errText(e) }, 'config.json changed but is not valid; the daemon keeps its running configuration until it is fixed');
        state.config_error = errText(e);
        return;
      }
      if (state.config_error) log.info({}, 'config.json is valid again');
      state.config_error = null;
      if (isDeepStrictEqual(next, o.running)) return;
      log.info({ changed: changedKeys(o.running, next) }, 'config.json changed; restarting the daemon loop with it (after the current sync)');
      o.restartWith(next);
    },
  };
}

/** Top-level config keys whose values differ, for the reload log line. */
function changedKeys(a: Config, b: Config): string[] {
  return (Object.keys(b) as (keyof Config)[]).filter((k) => !isDeepStrictEqual(a[k], b[k]));
}
