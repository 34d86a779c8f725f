/**
 * What the remote itself said: the `remote:` lines git relays from the server (a
 * pre-receive hook's reason, branch protection, a size limit). git's own summary
 * ("pre-receive hook declined") says only that the server refused, not why; the
 * reason is in these lines.
 *
 * They are untrusted text from another machine: ANSI sequences and control characters
 * are removed, URLs redacted, and the result bounded (lines and bytes) so a chatty or
 * hostile server cannot flood stderr, the log or the state file.
 */
import { redactUrls } from '../shared/redact.js';

export const REMOTE_SAID_MAX_LINES = 8;
export const REMOTE_SAID_MAX_BYTES = 600;

// CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST) and two-character escapes.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]/g;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** One line of remote text made safe to print: no escapes, no control characters. */
export function sanitizeRemoteLine(line: string): string {
  return redactUrls(line.replace(ANSI, '').replace(CONTROL, '')).trim();
}

/**
 * The `remote:` lines of git's stderr, sanitized, in order, bounded to `maxLines`
 * lines and `maxBytes` UTF-8 bytes (a cut is marked with "…"). Progress chatter that
 * git itself relays (object counts, "Resolving deltas") is dropped.
 */
export function remoteSaid(stderr: string, opts: { maxLines?: number; maxBytes?: number } = {}): string[] {
  const maxLines = opts.maxLines ?? REMOTE_SAID_MAX_LINES;
  const maxBytes = opts.maxBytes ?? REMOTE_SAID_MAX_BYTES;
  const out: string[] = [];
  let bytes = 0;
  let cut = false;
  // A server's progress line ends in \r and is redrawn: each \r starts a new line.
  for (const raw of stderr.split(/\r\n|\n|\r/)) {
    const m = /^remote:(.*)$/.exec(raw);
    if (!m) continue;
    const line = sanitizeRemoteLine(m[1] ?? '');
    if (!line || isProgress(line)) continue;
    if (out.length === maxLines) {
      cut = true;
      break;
    }
    const size = Buffer.byteLength(line, 'utf8');
    if (bytes + size > maxBytes) {
      const room = maxBytes - bytes;
      if (room > 8) out.push(truncateBytes(line, room - 3) + '…');
      cut = true;
      break;
    }
    out.push(line);
    bytes += size;
  }
  if (cut && out.length && !out[out.length - 1]!.endsWith('…')) out[out.length - 1] += ' …';
  return out;
}

/** The remote's lines as one phrase for a one-line message, or '' when it said nothing. */
export function remoteSaidText(stderr: string): string {
  const lines = remoteSaid(stderr);
  return lines.length ? `the remote said: ${lines.join(' | ')}` : '';
}

function isProgress(line: string): boolean {
  return (
    /^(Counting|Compressing|Enumerating|Total|Resolving deltas|Processing changes|Writing objects)\b/i.test(line) || /^(Resolving|Processing).*\d+%/.test(line)
  );
}

function truncateBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  // Drop a split multi-byte character at the end instead of printing U+FFFD.
  return buf
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
