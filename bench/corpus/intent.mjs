// Is a committed result a merge of both sides, line by line? Every line each side
// added against the base is in it, and no line either side deleted is. Used to keep
// only replay cases whose expected version really holds both changes (a commit i+1
// that undoes part of commit i cannot be replayed as a concurrent edit), and to tell
// apart real merges whose committed result a person rewrote. Independent of the
// resolver's own gate (src/merge/safety-gate.ts) on purpose.
import DiffMatchPatch from 'diff-match-patch';

function alignLines(x, y) {
  const dmp = new DiffMatchPatch();
  dmp.Diff_Timeout = 0;
  const { chars1, chars2 } = dmp.diff_linesToChars_(x, y);
  const inX = [];
  const inY = [];
  for (const [op, s] of dmp.diff_main(chars1, chars2, false)) {
    for (let k = 0; k < s.length; k++) {
      if (op === 0) {
        inX.push(true);
        inY.push(true);
      } else if (op === -1) inX.push(false);
      else inY.push(false);
    }
  }
  return { inX, inY };
}

function keepsSide(base, side, result) {
  const bs = alignLines(base, side);
  const sr = alignLines(side, result);
  if (bs.inY.some((kept, p) => !kept && !sr.inX[p])) return false;
  const br = alignLines(base, result);
  return !bs.inX.some((kept, p) => !kept && br.inX[p]);
}

function counts(text) {
  const m = new Map();
  for (const l of text.split('\n')) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}

/**
 * No line of the result is new (a line a person wrote during the merge, a conflict
 * marker) or there more often than the two sides together have it (a person copied
 * entries from one section into another): a merge only combines the sides' lines.
 */
function onlyTheSidesLines(base, ours, theirs, result) {
  const [b, o, t] = [counts(base ?? ''), counts(ours), counts(theirs)];
  for (const [line, n] of counts(result)) {
    const most = Math.max((o.get(line) ?? 0) + (t.get(line) ?? 0) - (b.get(line) ?? 0), o.get(line) ?? 0, t.get(line) ?? 0);
    if (n > most) return false;
  }
  return true;
}

export function resultKeepsBothSides(base, ours, theirs, result) {
  return onlyTheSidesLines(base, ours, theirs, result) && keepsSide(base ?? '', ours, result) && keepsSide(base ?? '', theirs, result);
}
