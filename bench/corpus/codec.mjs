// Line-delta codec for the corpus: each blob is stored as edits against an earlier
// blob (most versions of a file differ from the previous one by a few lines), and the
// whole file is gzipped. Ops: a positive number copies that many lines of the
// reference, a negative number skips that many, a string is a line to insert.
import DiffMatchPatch from 'diff-match-patch';

export function splitLines(text) {
  return text === '' ? [] : text.match(/[^\n]*\n|[^\n]+$/g);
}

export function encodeDelta(ref, text) {
  const dmp = new DiffMatchPatch();
  dmp.Diff_Timeout = 0;
  const { chars1, chars2, lineArray } = dmp.diff_linesToChars_(ref, text);
  const ops = [];
  for (const [op, s] of dmp.diff_main(chars1, chars2, false)) {
    if (op === 0) ops.push(s.length);
    else if (op === -1) ops.push(-s.length);
    else for (const c of s) ops.push(lineArray[c.charCodeAt(0)]);
  }
  return ops;
}

export function decodeDelta(ref, ops) {
  const lines = splitLines(ref);
  let pos = 0;
  let out = '';
  for (const op of ops) {
    if (typeof op === 'string') out += op;
    else if (op > 0) {
      out += lines.slice(pos, pos + op).join('');
      pos += op;
    } else pos -= op;
  }
  return out;
}
