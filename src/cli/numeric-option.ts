/**
 * Numeric options, parsed once by commander (`argParser`): a bad value stops the command
 * before any of its code runs, as a usage error (exit 2) on one line that names the
 * option, what it accepts and what it got; the command receives a number. (A UsageError,
 * not commander's InvalidArgumentError, whose message comes with a second, help line.)
 */
import { UsageError } from '../shared/errors.js';

/** `conflicts --merged --limit`: how many auto-merges are listed by default, and at most. */
export const MERGED_LIMIT = { default: 50, max: 10_000 } as const;

/** Seconds, fractions allowed, at least 0 (`--timeout`). */
export function seconds(flag: string): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number of seconds >= 0, got ${JSON.stringify(raw)}`);
    return n;
  };
}

/** A whole number from `min` to `max` (`--lines`, `--limit`). */
export function wholeNumber(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (raw: string) => number {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
  return (raw) => {
    const n = Number(raw);
    if (!/^[0-9]{1,16}$/.test(raw) || n < min || n > max) throw new UsageError(`${flag} must be a whole number ${range}, got ${JSON.stringify(raw)}`);
    return n;
  };
}
