/**
 * Conflict-marker lines (invariant 4). The object-store merge (tree-merge.ts) accepts a
 * merged text for a file that was in conflict only when it has no marker line that no
 * side had: a marker the user typed before the sync is their content.
 */
const MARKER_LINE = /^(?:<{7}|>{7}|\|{7})(?: |$)|^={7}$/;

/** Lines of `text` that look like conflict markers (pure). */
export function markerLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => MARKER_LINE.test(l));
}
