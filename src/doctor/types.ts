/**
 * What every doctor check returns: one named result, `ok`, `warn` or `fail`, with a
 * message and, when not ok, the fix (a command or a short instruction). Checks never
 * change anything; they only read files and run read-only git.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  message: string;
  /** What to do about it; null when ok. */
  fix: string | null;
}

export const ok = (name: string, message: string): CheckResult => ({ name, status: 'ok', message, fix: null });
export const warn = (name: string, message: string, fix: string | null): CheckResult => ({ name, status: 'warn', message, fix });
export const fail = (name: string, message: string, fix: string | null): CheckResult => ({ name, status: 'fail', message, fix });

/** Bytes in a short human unit (1 GB = 1024^3 here, as df -h). */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}
