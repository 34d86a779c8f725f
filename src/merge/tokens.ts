/**
 * Word-level tokens: runs of letters/digits, single line breaks, runs of other
 * whitespace, and every other character alone. Joining the tokens gives the text back.
 * Line breaks are tokens of their own so a change at the end of one line and one at
 * the start of the next are not "touching".
 */
const TOKEN = /[\p{L}\p{N}_]+|\r\n|\n|[^\S\r\n]+|[\s\S]/gu;

export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}
