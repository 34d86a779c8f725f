/**
 * Logging: JSON lines in pino's format. The daemon logs through pino itself (with
 * pino-roll for rotation: src/daemon/daemon-logger.ts); short-lived CLI processes write
 * the same lines synchronously with `createLineLogger`, so nothing is lost on exit or a
 * signal and no start-up time goes to loading pino.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LEVELS: Record<Exclude<LogLevel, 'silent'>, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

/** One pino-format JSON line, appended synchronously (O_APPEND: lines do not interleave). */
export function appendLogLine(file: string, level: Exclude<LogLevel, 'silent'>, obj: object, msg: string): void {
  try {
    const line = JSON.stringify({ level: LEVELS[level], time: Date.now(), pid: process.pid, host: hostname(), ...redacted(obj), msg });
    appendFileSync(file, line + '\n');
  } catch {
    /* logging never fails a command */
  }
}

const REDACT_KEYS = new Set(['url', 'remote_url']);
function redacted(obj: object): object {
  if (!Object.keys(obj).some((k) => REDACT_KEYS.has(k))) return obj;
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, REDACT_KEYS.has(k) ? '[redacted]' : v]));
}

/**
 * The logger of short-lived CLI processes: the same JSON lines as pino (level numbers,
 * `time`, `pid`, `host`, bindings, `msg`), written synchronously with O_APPEND so a
 * kill loses nothing and concurrent CLIs do not interleave. Not pino itself: importing
 * pino costs a one-shot command ~10-20 ms of its start-up budget (the sync overhead
 * and enqueue figures), and a CLI needs none of its transports. The daemon logs with
 * pino (pino-roll for rotation).
 */
export function createLineLogger(file: string, level: LogLevel = 'info', bindings: object = {}): Logger {
  mkdirSync(dirname(file), { recursive: true });
  const threshold = level === 'silent' ? Infinity : LEVELS[level];
  const make = (bound: object): Logger => {
    const at = (name: Exclude<LogLevel, 'silent'>) => (obj: object, msg?: string) => {
      if (LEVELS[name] >= threshold) appendLogLine(file, name, { ...bound, ...obj }, msg ?? '');
    };
    return {
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more: object) => make({ ...bound, ...more }),
    };
  };
  return make(bindings);
}

/** A logger that writes nothing (tests, and `--quiet` paths). */
export const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
