/**
 * Human output never carries control characters from untrusted strings (callers,
 * reasons, file names, remote output): invariant 11. Newlines and tabs inside a value
 * are shown escaped so a single line stays a single line.
 */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

export function stripControl(text: string): string {
  return text.replace(CONTROL, '');
}

/** One value inside a human line: control characters removed, newline and tab escaped. */
export function safeValue(text: string): string {
  return stripControl(text.replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t'));
}

const C0_OR_DEL = /[\u0000-\u001f\u007f]/g;
const C1_OR_SEPARATOR = /[\u0080-\u009f\u2028\u2029]/g;

/**
 * One line for a terminal, whatever it carries: newline, return and tab escaped, other
 * C0 controls and DEL removed, C1 controls and the Unicode line separators written as
 * `\uXXXX` (inside a JSON line they only occur in strings, where that escape means the
 * same character, so a JSON line stays exact).
 */
export function printableLine(text: string): string {
  return text
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(C0_OR_DEL, '')
    .replace(C1_OR_SEPARATOR, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
export function hasControl(text: string): boolean {
  return ANY_CONTROL.test(text);
}
