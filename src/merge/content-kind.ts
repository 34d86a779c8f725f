const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** git's own test: a NUL byte in the first 8000 bytes means binary. */
export function looksBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

/** The text of a buffer, or null when it is not valid UTF-8 (a BOM is kept, so bytes round-trip). */
export function decodeText(buf: Buffer): string | null {
  try {
    return utf8.decode(buf);
  } catch {
    return null;
  }
}
