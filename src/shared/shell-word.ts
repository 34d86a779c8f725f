/**
 * Quoting for the commands we print for the user to paste (doctor's fixes, the hooks
 * and guided-merge hints): one rule, so every printed command quotes alike.
 */
/** A word safe to paste into a POSIX shell: as is when plain, else single-quoted. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@=+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
