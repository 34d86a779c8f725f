/**
 * Human output never carries control characters from untrusted strings (callers,
 * reasons, file names, remote output): invariant 11. Newlines and tabs inside a value
 * are shown escaped so a single line stays a single line.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

export function stripControl(text: string): string {
  return text.replace(CONTROL, '');
}

/** One value inside a human line: control characters removed, newline and tab escaped. */
export function safeValue(text: string): string {
  return stripControl(text.replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t'));
}

// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
export function hasControl(text: string): boolean {
  return ANY_CONTROL.test(text);
}
