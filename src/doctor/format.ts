/** Human and JSON forms of the doctor's report (pure). */
import { safeValue } from '../shared/sanitize.js';
import type { CheckResult } from './types.js';

const LABEL: Record<CheckResult['status'], string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

/** One line per check; the fix indented below it when not ok. Control characters stripped. */
export function humanReport(checks: CheckResult[]): string[] {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(safeValue(`${LABEL[c.status]}  ${c.name.padEnd(width)}  ${c.message}`));
    if (c.status !== 'ok' && c.fix) lines.push(safeValue(`      ${' '.repeat(width)}  fix: ${c.fix}`));
  }
  const warns = checks.filter((c) => c.status === 'warn').length;
  const fails = checks.filter((c) => c.status === 'fail').length;
  lines.push(
    fails || warns ? `${fails} failed, ${warns} warning${warns === 1 ? '' : 's'}, ${checks.length - fails - warns} ok` : `all ${checks.length} checks ok`,
  );
  return lines;
}

export function jsonReport(ok: boolean, checks: CheckResult[]): string {
  return JSON.stringify({ ok, checks: checks.map(({ name, status, message, fix }) => ({ name, status, message, fix })) });
}
