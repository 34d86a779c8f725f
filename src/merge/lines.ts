/** Lines with their own terminators ("\n" or "\r\n"), so joining them gives the bytes back: CRLF, LF and a missing final newline survive a merge untouched. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const out = text.match(/[^\n]*\n|[^\n]+$/g);
  return out ?? [];
}

/** The line ending a text mostly uses, for lines a merge has to terminate. */
export function dominantEol(text: string): '\n' | '\r\n' {
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length - crlf;
  return crlf > lf ? '\r\n' : '\n';
}

export function endsWithEol(line: string): boolean {
  return line.endsWith('\n');
}
