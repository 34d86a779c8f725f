/**
 * Logging. The daemon and long commands log through pino (JSON lines); CLI processes
 * use a synchronous destination so nothing is lost on exit or a signal (pino transports
 * run in a worker thread and drop lines on SIGTERM). The enqueue hot path uses
 * `appendLogLine`, which writes the same pino line format without importing pino
 * (pino costs ~20 ms of start-up, a third of the enqueue budget).
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

/** pino is imported lazily so commands that do not log pay nothing for it. */
export async function createFileLogger(file: string, level: LogLevel = 'info', bindings: object = {}): Promise<Logger> {
  const { pino } = await import('pino');
  mkdirSync(dirname(file), { recursive: true });
  const dest = pino.destination({ dest: file, sync: true, append: true, mkdir: true });
  // A full disk must not crash the CLI: drop log lines instead.
  dest.on('error', () => {});
  return pino(
    {
      level,
      base: { pid: process.pid, host: hostname(), ...bindings },
      redact: { paths: ['url', 'remote_url'], censor: '[redacted]' },
    },
    dest,
  ) as unknown as Logger;
}

/** One pino-format JSON line, appended synchronously (O_APPEND: lines do not interleave). */
export function appendLogLine(file: string, level: Exclude<LogLevel, 'silent'>, obj: object, msg: string): void {
  try {
    const line = JSON.stringify({ level: LEVELS[level], time: Date.now(), pid: process.pid, host: hostname(), ...obj, msg });
    appendFileSync(file, line + '\n');
  } catch {
    /* logging never fails a command */
  }
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
